import { Type, type Static } from '@sinclair/typebox';
import { AdversariesSchema } from '../adversary/index.ts';

// Per-node config: `node --config config.json`. All paths absolute or relative to the file.

export const LinkShapeSchema = Type.Object(
  {
    latencyMs: Type.Number({ minimum: 0, default: 0, description: 'one-way delay added to every frame sent' }),
    bandwidthBps: Type.Optional(Type.Number({ exclusiveMinimum: 0, description: 'bytes per second; absent = unlimited' })),
    loss: Type.Number({ minimum: 0, maximum: 1, default: 0, description: 'probability a segment is lost; TCP-like, it is then delivered one retransmission timeout late (max(200 ms, 3 × latency))' }),
    down: Type.Boolean({ default: false, description: 'link cut: nothing is sent or accepted' }),
  },
  { additionalProperties: false },
);

export const PeerSchema = Type.Object(
  {
    name: Type.String({ minLength: 1 }),
    host: Type.String({ minLength: 1 }),
    port: Type.Integer({ minimum: 1, maximum: 65535 }),
    link: Type.Optional(LinkShapeSchema),
  },
  { additionalProperties: false },
);

export const NodeConfigSchema = Type.Object(
  {
    name: Type.String({ minLength: 1 }),
    runId: Type.Optional(Type.String({ minLength: 1, description: 'the testnet run this node belongs to (reported on /health)' })),
    genesisFile: Type.String(),
    release: Type.Object(
      {
        version: Type.String({ description: 'node release, e.g. 1.1.0' }),
        maxProtocolVersion: Type.Integer({ minimum: 1, description: 'highest protocol version this release can follow' }),
      },
      { additionalProperties: false },
    ),
    listen: Type.Object({ host: Type.String(), port: Type.Integer({ minimum: 0, maximum: 65535 }) }, { additionalProperties: false }),
    admin: Type.Object(
      { host: Type.String(), port: Type.Integer({ minimum: 0, maximum: 65535 }), token: Type.String({ minLength: 8 }) },
      { additionalProperties: false },
    ),
    pool: Type.Optional(
      Type.Object(
        {
          id: Type.String({ description: 'pool id in genesis' }),
          coldSkeyFile: Type.String(),
          vrfSkeyFile: Type.String(),
          blsSkeyFile: Type.String(),
        },
        { additionalProperties: false, description: 'absent for relays' },
      ),
    ),
    peers: Type.Array(PeerSchema),
    dbPath: Type.String(),
    traceFile: Type.Optional(Type.String()),
    logFile: Type.Optional(Type.String()),
    logLevel: Type.Optional(Type.String()),
    mempoolCapacityBytes: Type.Optional(Type.Integer({ minimum: 1 })),
    workerThreads: Type.Optional(Type.Integer({ minimum: 0, maximum: 16, description: 'threads for BLS and EB signature checks (0 = on the event loop; default 1)' })),
    clockOffsetMs: Type.Number({ default: 0 }),
    genesisPopsVerified: Type.Optional(
      Type.String({
        pattern: '^[0-9a-f]{64}$',
        description: "digest of the genesis pools' BLS keys and proofs of possession that this config's writer verified; a genesis with exactly those keys is not re-checked (otherwise the node checks every PoP at its first start)",
      }),
    ),
    adversary: Type.Optional({ ...AdversariesSchema, description: 'adversary behaviours on from the start, with their params (node/adversary/)' }),
  },
  { additionalProperties: false },
);

export type LinkShape = Static<typeof LinkShapeSchema>;
export type PeerConfig = Static<typeof PeerSchema>;
export type NodeConfig = Static<typeof NodeConfigSchema>;
