// Reports of one run: report.md and report.html next to summary.json.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Analysis } from '../analysis/analyse.ts';
import { renderHtml } from './html.ts';
import { renderMarkdown } from './markdown.ts';

export { compare, compareSummaries, renderCompareMarkdown, writeCompare, direction } from './compare.ts';
export type { CompareResult, CompareRow, Direction } from './compare.ts';
export { renderHtml, figures } from './html.ts';
export { renderMarkdown } from './markdown.ts';

export function writeReports(runDir: string, analysis: Pick<Analysis, 'summary' | 'series'>): { md: string; html: string } {
  const md = join(runDir, 'report.md');
  const html = join(runDir, 'report.html');
  writeFileSync(md, renderMarkdown(analysis.summary, analysis.series));
  writeFileSync(html, renderHtml(analysis.summary, analysis.series));
  return { md, html };
}
