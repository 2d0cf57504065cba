// The report's "Transaction fate" section (summary.txFate, orchestrator/analysis/tx-fate.ts).
import type { Summary } from '../analysis/summary.ts';
import type { TxFate } from '../analysis/tx-fate.ts';
import { table } from './markdown.ts';

export function renderTxFateMarkdown(s: Summary): string[] {
  const f = (s as Summary & { txFate?: TxFate }).txFate;
  if (!f) return [];
  const pct = (n: number) => (f.accepted ? `${Math.round((n / f.accepted) * 1000) / 10} %` : '–');
  return [
    '',
    '## Transaction fate',
    '',
    `Generator txs accepted into some mempool or EB: ${f.accepted}; reached the ledger: ${f.reachedLedger}; never did: ${f.lost} ` +
      `(EB contents: ${f.ebContents === 'node-db' ? `from the nodes' EB stores, ${f.ebs.seen} EBs, ${f.ebs.certified} certified` : 'unavailable on this runtime'}).`,
    '',
    table(
      ['cause', 'txs', 'share of accepted', 'examples'],
      [
        ['lost a conflict (twin on chain)', f.byCause.lostConflict, pct(f.byCause.lostConflict), f.examples.lostConflict.map((x) => x.slice(0, 10)).join(' ')],
        ['… of which in a parallel EB', f.byCause.lostConflictInEb, pct(f.byCause.lostConflictInEb), ''],
        ['only in uncertified EBs', f.byCause.uncertifiedEb, pct(f.byCause.uncertifiedEb), f.examples.uncertifiedEb.map((x) => x.slice(0, 10)).join(' ')],
        ['expired (left in mempools)', f.byCause.expired, pct(f.byCause.expired), f.examples.expired.map((x) => x.slice(0, 10)).join(' ')],
      ],
    ),
  ];
}
