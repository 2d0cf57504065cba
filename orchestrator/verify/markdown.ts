// The report's "Conformance" section (report.md; report.html renders the same Markdown).

import type { Conformance } from './index.ts';

const esc = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

export function conformanceMarkdown(c: Conformance | undefined): string[] {
  if (!c) return [];
  const label = { pass: 'PASS', fail: 'FAIL', 'not-checkable': 'N/A' } as const;
  const out = ['## Conformance (CIP-164, from the traces)', ''];
  out.push(`${c.checks.toLocaleString('en-US')} checks, **${c.violations} violation(s)**${c.notCheckable.length ? `; not checkable: ${c.notCheckable.join(', ')}` : ''}. Re-run with \`leiosnet verify <run-dir>\`.`, '');
  out.push('| rule | result | checks | violations | note |', '| --- | --- | ---: | ---: | --- |');
  for (const [id, r] of Object.entries(c.byRule)) out.push(`| ${id} | ${label[r.status]} | ${r.checks} | ${r.violations} | ${esc(r.reason ?? '–')} |`);
  if (c.examples.length) {
    out.push('', '| rule | violation |', '| --- | --- |');
    for (const v of c.examples.slice(0, 10)) out.push(`| ${v.rule} | ${esc(v.message)} |`);
  }
  out.push('');
  return out;
}
