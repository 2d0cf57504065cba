import { Type, type Static } from '@sinclair/typebox';

// The genesis file: everything every node must agree on. Types derive from this schema;
// `npm run schemas` writes it out as JSON Schema (node/genesis/genesis.schema.json).

const Hex = (bytes: number, description: string) =>
  Type.String({ pattern: `^[0-9a-f]{${bytes * 2}}$`, description });

export const EraSchema = Type.Object(
  {
    era: Type.Union([Type.Literal('praos'), Type.Literal('leios')]),
    startEpoch: Type.Integer({ minimum: 0 }),
    protocolVersion: Type.Integer({ minimum: 1, description: 'major protocol version in force from startEpoch' }),
  },
  { additionalProperties: false },
);

export const CommitteeSchema = Type.Union([
  Type.Object(
    {
      kind: Type.Literal('truncation'),
      sigmaC: Type.Number({ exclusiveMinimum: 0, maximum: 1, description: 'top pools up to this share of stake vote' }),
    },
    { additionalProperties: false },
  ),
  Type.Object(
    {
      kind: Type.Literal('fait-accompli'),
      seats: Type.Integer({ minimum: 1, description: 'committee size n (persistent + non-persistent)' }),
    },
    { additionalProperties: false },
  ),
]);

export const LeiosParamsSchema = Type.Object(
  {
    lHdrSlots: Type.Integer({ minimum: 1, default: 1 }),
    lVoteSlots: Type.Integer({ minimum: 1, default: 4 }),
    lDiffSlots: Type.Integer({ minimum: 0, default: 7 }),
    ebMaxRefBytes: Type.Integer({ minimum: 1, default: 512_000, description: 'S_EB' }),
    ebMaxTxBytes: Type.Integer({ minimum: 1, default: 12_000_000, description: 'S_EB-tx' }),
    quorum: Type.Number({ exclusiveMinimum: 0, maximum: 1, default: 0.75, description: 'tau, share of stake' }),
    committee: CommitteeSchema,
  },
  { additionalProperties: false },
);

// Praos as cardano-node runs it (KES, operational certificates, tiebreak, leader schedule).
// Optional as a whole and per field, so genesis files written before it stay valid.
export const PraosParamsSchema = Type.Object(
  {
    slotsPerKesPeriod: Type.Integer({
      minimum: 1,
      default: 129_600,
      description: 'slots per KES period (mainnet 129,600 = 36 h of 1 s slots); kes_period = floor(slot / slotsPerKesPeriod)',
    }),
    maxKesEvolutions: Type.Integer({
      minimum: 1,
      maximum: 64,
      default: 62,
      description:
        'periods an operational certificate is valid for: opcert_start ≤ kes_period < opcert_start + maxKesEvolutions (Sum6KES has 64 periods; mainnet 62)',
    }),
    vrfTiebreakMaxSlots: Type.Integer({
      minimum: 0,
      default: 5,
      description:
        'equal-length chains are settled by the lower tip VRF output only if their tips are at most this many slots apart (ouroboros-consensus RestrictedVRFTiebreaker; mainnet 5)',
    }),
    leaderIntervalSlots: Type.Integer({
      minimum: 1,
      default: 1,
      description: 'leadership checked only every N-th slot (slots with slot mod N ≠ 0 never have a leader); 1 = every slot, as Praos',
    }),
  },
  { additionalProperties: false },
);

export const PoolSchema = Type.Object(
  {
    id: Type.String({ minLength: 1, description: 'pool name, also the node name that runs it' }),
    stake: Type.Integer({ minimum: 0 }),
    coldVkey: Hex(32, 'Ed25519 block-signing public key'),
    vrfVkey: Hex(32, 'ECVRF-EDWARDS25519-SHA512-ELL2 public key'),
    blsVkey: Hex(96, 'BLS12-381 MinSig public key (G2, compressed)'),
    blsPop: Hex(48, 'proof of possession: BLS signature over "PoP" || blsVkey'),
  },
  { additionalProperties: false },
);

export const UtxoEntrySchema = Type.Object(
  {
    txId: Hex(32, 'pseudo tx id of the genesis output'),
    index: Type.Integer({ minimum: 0 }),
    address: Hex(28, 'Blake2b-224 of the owner Ed25519 public key'),
    amount: Type.Integer({ minimum: 1 }),
  },
  { additionalProperties: false },
);

export const ProtocolParamsSchema = Type.Object(
  {
    minFeeA: Type.Integer({ minimum: 0, description: 'fee per tx byte' }),
    minFeeB: Type.Integer({ minimum: 0, description: 'constant fee per tx' }),
    maxTxSize: Type.Integer({ minimum: 100 }),
    maxBlockBodySize: Type.Integer({ minimum: 1000, description: 'S_RB, 90,112 B by default' }),
    maxHeaderSize: Type.Integer({ minimum: 200 }),
  },
  { additionalProperties: false },
);

export const GenesisSchema = Type.Object(
  {
    networkMagic: Type.Integer({ minimum: 0, maximum: 0xffffffff }),
    systemStart: Type.String({ format: 'date-time', description: 'wall-clock time of slot 0' }),
    slotLengthS: Type.Number({ minimum: 0.1, description: 'seconds per slot' }),
    epochLengthSlots: Type.Integer({ minimum: 10 }),
    activeSlotCoeff: Type.Number({ exclusiveMinimum: 0, maximum: 1, description: 'f' }),
    securityParam: Type.Integer({ minimum: 1, description: 'k: maximum rollback in blocks' }),
    initialNonce: Hex(32, 'epoch-0 nonce'),
    protocolParams: ProtocolParamsSchema,
    eras: Type.Array(EraSchema, { minItems: 1, description: 'era schedule, ordered by startEpoch; first starts at 0' }),
    leios: LeiosParamsSchema,
    praos: Type.Optional(PraosParamsSchema),
    updateThreshold: Type.Number({
      exclusiveMinimum: 0,
      maximum: 1,
      default: 0.75,
      description: 'share of stake whose endorsement makes an update proposal take effect',
    }),
    pools: Type.Array(PoolSchema, { minItems: 1 }),
    initialUtxo: Type.Array(UtxoEntrySchema),
  },
  { additionalProperties: false },
);

export type Era = Static<typeof EraSchema>;
export type Committee = Static<typeof CommitteeSchema>;
export type LeiosParams = Static<typeof LeiosParamsSchema>;
export type PraosParams = Static<typeof PraosParamsSchema>;
export type Pool = Static<typeof PoolSchema>;

/** The praos parameters with every default filled in (for genesis files without the object). */
export function praosParams(g: { praos?: Partial<PraosParams> }): PraosParams {
  const p = g.praos ?? {};
  return {
    slotsPerKesPeriod: p.slotsPerKesPeriod ?? 129_600,
    maxKesEvolutions: p.maxKesEvolutions ?? 62,
    vrfTiebreakMaxSlots: p.vrfTiebreakMaxSlots ?? 5,
    leaderIntervalSlots: p.leaderIntervalSlots ?? 1,
  };
}
export type UtxoEntry = Static<typeof UtxoEntrySchema>;
export type ProtocolParams = Static<typeof ProtocolParamsSchema>;
export type Genesis = Static<typeof GenesisSchema>;
