// The verifier's rule ids (rules.ts has one rule per id, in this order). Kept free of imports so the
// profile schema can offer them for the `conformance` assertion's `rules`.

export const RULE_IDS = [
  'vote-window',
  'one-vote-per-election',
  'certificate-quorum',
  'certrb-timing',
  'certrb-parent-eb',
  'certrb-no-txs',
  'no-double-inclusion',
  'rollback-depth',
  'common-prefix',
  'no-double-production',
] as const;

export type RuleId = (typeof RULE_IDS)[number];
