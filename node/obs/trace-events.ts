/**
 * Trace events of our own (not in the Leios simulator's shared schema), as TypeBox = JSON Schema.
 *
 * Every trace line is `{"time_s": <float seconds since genesis systemStart>, "message": {...}}`.
 * Simulator events (RBGenerated, RBReceived, EBGenerated, EBReceived, VTBundleGenerated,
 * VTBundleReceived) keep the simulator's snake_case field names and validate against
 * shared/reference/leios-sim/trace.shared.schema.json; the events below use camelCase fields and
 * validate against `OwnTraceLineSchema`. All messages carry `node` (the emitting node's name).
 * Ids (blocks, EBs, txs) are lower-case hex hashes.
 */
import { Type, type Static } from '@sinclair/typebox';

const Id = Type.String({ description: 'hash as lower-case hex' });
const Slot = Type.Integer({ minimum: 0 });
const Count = Type.Integer({ minimum: 0 });

function event<T extends string, P extends Parameters<typeof Type.Object>[0]>(type: T, props: P, description: string) {
  return Type.Object({ type: Type.Literal(type), node: Type.String(), ...props }, { description, additionalProperties: false });
}

export const RBAdoptedSchema = event(
  'RBAdopted',
  {
    id: Id,
    slot: Slot,
    blockNo: Count,
    parent: Type.Union([Id, Type.Null()]),
    delayS: Type.Optional(Type.Number({ description: 'seconds from the start of the block\'s slot to adoption' })),
  },
  'A ranking block became the tip of the selected chain.',
);

export const RollbackSchema = event(
  'Rollback',
  {
    from: Id,
    to: Id,
    depth: Type.Integer({ minimum: 1, description: 'blocks rolled back' }),
    intersection: Type.Optional(Type.Union([Id, Type.Null()], { description: 'common ancestor, null = genesis' })),
    slot: Type.Optional(Type.Integer({ minimum: 0, description: 'slot of the new tip' })),
  },
  'The node switched to a fork: tip `from` replaced by tip `to`, rolling back `depth` blocks.',
);

export const TxAcceptedSchema = event(
  'TxAccepted',
  {
    count: Count,
    ids: Type.Array(Id),
    spanS: Type.Optional(Type.Number({ description: 'seconds between the first and last tx of the batch; time_s is the first' })),
  },
  'Transactions accepted into the mempool (one event per batch window).',
);

export const TxRejectedSchema = event(
  'TxRejected',
  {
    count: Count,
    ids: Type.Array(Id),
    reason: Type.String(),
    spanS: Type.Optional(Type.Number()),
  },
  'Transactions rejected by the mempool for one reason (one event per batch window and reason).',
);

export const TxIncludedSchema = event(
  'TxIncluded',
  {
    count: Count,
    ids: Type.Optional(Type.Array(Id)),
    rb: Type.Optional(Id),
    eb: Type.Optional(Id),
    slot: Slot,
  },
  'Transactions applied to the ledger, from an RB body (`rb`) or a certified EB (`eb`, with the certifying `rb`).',
);

export const CertCreatedSchema = event(
  'CertCreated',
  {
    eb: Id,
    slot: Type.Integer({ minimum: 0, description: 'slot of the EB (the election id: slot of the announcing RB)' }),
    voters: Count,
    stake: Type.Optional(Type.Number({ minimum: 0, maximum: 1, description: 'fraction of the total active stake that voted' })),
    sizeBytes: Type.Optional(Count),
  },
  'This node aggregated a quorum of votes into an EB certificate.',
);

export const CertIncludedSchema = event(
  'CertIncluded',
  {
    eb: Id,
    rb: Id,
    slot: Type.Integer({ minimum: 0, description: 'slot of the RB carrying the certificate' }),
    ebSlot: Type.Optional(Type.Integer({ minimum: 0, description: 'slot of the announcing RB (the election id)' })),
    voters: Type.Optional(Type.Array(Type.String(), { description: 'pool ids whose votes the certificate aggregates' })),
  },
  'An adopted RB carries a certificate for an EB.',
);

export const HardForkSchema = event(
  'HardFork',
  {
    era: Type.String(),
    epoch: Count,
    slot: Slot,
    protocolVersion: Type.Integer({ minimum: 0 }),
  },
  'The chain entered a new era / protocol version at an epoch boundary.',
);

export const StoppedFollowingSchema = event(
  'StoppedFollowing',
  {
    reason: Type.String(),
    protocolVersion: Type.Integer({ minimum: 0, description: 'the chain\'s protocol version that we cannot follow' }),
    maxProtocolVersion: Type.Optional(Type.Integer({ minimum: 0, description: 'the highest this release supports' })),
    slot: Type.Optional(Slot),
  },
  'The node stopped following the chain (e.g. it moved past this release\'s max protocol version).',
);

export const SlotMissedSchema = event(
  'SlotMissed',
  {
    slot: Type.Integer({ minimum: 0, description: 'first missed slot' }),
    count: Type.Integer({ minimum: 1, description: 'consecutive slots missed' }),
  },
  'Leadership checks that did not run in time (event loop late past the slot).',
);

export const TraceDroppedSchema = event(
  'TraceDropped',
  { count: Type.Integer({ minimum: 1 }) },
  'The trace writer dropped events because the disk fell behind (buffer full).',
);

export const GovernanceActionSchema = event(
  'GovernanceAction',
  {
    kind: Type.Union([Type.Literal('propose'), Type.Literal('endorse')]),
    poolId: Type.String(),
    tx: Id,
    slot: Slot,
    adopted: Count,
  },
  'An adopted block carries a hard-fork proposal or endorsement; `adopted` = updates adopted on this chain so far.',
);

export const AdversarySchema = event(
  'Adversary',
  {
    behaviour: Type.String({ description: 'node/adversary/<behaviour>.ts' }),
    action: Type.String({ description: 'enabled, disabled, withheld, released, held, twin, injected, sent, forged, skipped, dropped' }),
    detail: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  },
  'This node, running an adversary behaviour, did something an honest node would not (or turned the behaviour on/off).',
);

export const VoteRejectedSchema = event(
  'VoteRejected',
  { sender: Type.String({ description: 'the peer that relayed it (its connection is closed)' }), reason: Type.String() },
  'A vote from a peer failed verification: not counted, not relayed (leios_votes_invalid_total).',
);

export const EBRejectedSchema = event(
  'EBRejected',
  { id: Id, slot: Slot, reason: Type.Union([Type.Literal('bad-witness'), Type.Literal('invalid-tx')]) },
  'The EB announced by the tip failed its checks before voting (a witness, or the ledger extension): no vote.',
);

export const CertificateRejectedSchema = event(
  'CertificateRejected',
  { block: Id, slot: Slot, eb: Id, reason: Type.String() },
  'A received RB carries a certificate that does not verify: the block is never selected.',
);

export const BlockRejectedSchema = event(
  'BlockRejected',
  {
    block: Type.Optional(Id),
    slot: Type.Optional(Slot),
    sender: Type.String({ description: 'the peer that served it (its connection is closed)' }),
    reason: Type.String({ description: 'body-hash-mismatch, body-size-mismatch, undecodable' }),
  },
  'A fetched RB body does not match its header or does not decode: refused, the sender dropped, the body fetched from another peer.',
);

export const OwnTraceEventSchema = Type.Union([
  AdversarySchema,
  BlockRejectedSchema,
  VoteRejectedSchema,
  EBRejectedSchema,
  CertificateRejectedSchema,
  GovernanceActionSchema,
  RBAdoptedSchema,
  RollbackSchema,
  TxAcceptedSchema,
  TxRejectedSchema,
  TxIncludedSchema,
  CertCreatedSchema,
  CertIncludedSchema,
  HardForkSchema,
  StoppedFollowingSchema,
  SlotMissedSchema,
  TraceDroppedSchema,
]);

export const OwnTraceLineSchema = Type.Object(
  { time_s: Type.Number(), message: OwnTraceEventSchema },
  { $id: 'leiosnet-own-trace-line', additionalProperties: false },
);

export type RBAdopted = Static<typeof RBAdoptedSchema>;
export type Rollback = Static<typeof RollbackSchema>;
export type TxAccepted = Static<typeof TxAcceptedSchema>;
export type TxRejected = Static<typeof TxRejectedSchema>;
export type TxIncluded = Static<typeof TxIncludedSchema>;
export type CertCreated = Static<typeof CertCreatedSchema>;
export type CertIncluded = Static<typeof CertIncludedSchema>;
export type HardFork = Static<typeof HardForkSchema>;
export type StoppedFollowing = Static<typeof StoppedFollowingSchema>;
export type SlotMissed = Static<typeof SlotMissedSchema>;
export type TraceDropped = Static<typeof TraceDroppedSchema>;
export type GovernanceAction = Static<typeof GovernanceActionSchema>;
export type OwnTraceEvent = Static<typeof OwnTraceEventSchema>;
export type OwnTraceLine = Static<typeof OwnTraceLineSchema>;

/** Names of our own event types. */
export const OWN_EVENT_TYPES = [
  'RBAdopted',
  'Rollback',
  'TxAccepted',
  'TxRejected',
  'TxIncluded',
  'CertCreated',
  'CertIncluded',
  'HardFork',
  'StoppedFollowing',
  'SlotMissed',
  'TraceDropped',
  'GovernanceAction',
  'Adversary',
  'VoteRejected',
  'EBRejected',
  'CertificateRejected',
] as const satisfies readonly OwnTraceEvent['type'][];
