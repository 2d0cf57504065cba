// The functional checks a scenario `check` step can run (the registry in ./index.ts implements
// each; the profile schema takes its literals from here, so a typo is refused up front).

export const CHECKS = {
  payment: 'submit a simple payment and see it included on every running node',
  'multi-output': 'submit a tx with many outputs and see it included',
  'max-size': 'a tx of exactly maxTxSize is included; one byte more is refused (too-large)',
  'double-spend': 'a second tx spending the same input is refused with its reason',
  'bad-witness': 'a tx whose signature does not verify is refused (bad-witness)',
  rollback: 'a tx included on a partitioned minority survives the rollback at the heal',
  tips: 'every running node answers /tip and they agree within k blocks',
  peers: 'every running node answers /peers with at least one connected peer',
  'fell-off': 'nodes left on an old release stopped following: StoppedFollowing traced, leios_following 0',
} as const;

export type CheckName = keyof typeof CHECKS;
export const CHECK_NAMES = Object.keys(CHECKS) as CheckName[];
