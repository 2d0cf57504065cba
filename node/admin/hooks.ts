/**
 * What the admin API needs from the node. The consensus core implements `AdminHooks`; the server
 * (server.ts) only validates, authenticates and serialises. Every hook may be sync or async.
 *
 * A hook signals a client error by throwing `AdminError(status, message)` — e.g.
 * `new AdminError(404, 'unknown peer "pool-9"')`; any other exception becomes a 500.
 */

/** `GET /health` */
export interface HealthInfo {
  /** the node is up and its event loop is turning (the core decides what else "ok" needs) */
  ok: boolean;
  name: string;
  /** the run the node belongs to (config `runId`), null if its config names none */
  runId?: string | null;
  /** current wall-clock slot */
  slot: number;
  /** false once the node stopped following (chain beyond our max protocol version) */
  following: boolean;
  [extra: string]: unknown;
}

/** `GET /tip` */
export interface TipInfo {
  slot: number;
  /** hex; null while at genesis */
  hash: string | null;
  blockNo: number;
  era: string;
  protocolVersion: number;
  [extra: string]: unknown;
}

/** The shape of one link as the node applies it (node/config/schema.ts LinkShape). */
export interface LinkShapeView {
  latencyMs: number;
  bandwidthBps?: number;
  loss: number;
  down: boolean;
}

/**
 * `PUT /peers/:name/link` body: only the fields given change. `bandwidthBps: null` removes a
 * bandwidth limit (unlimited).
 */
export interface LinkPatch {
  latencyMs?: number;
  bandwidthBps?: number | null;
  loss?: number;
  down?: boolean;
}

/** `GET /peers` items */
export interface PeerInfo {
  name: string;
  host?: string;
  port?: number;
  connected: boolean;
  link: LinkShapeView;
  [extra: string]: unknown;
}

/** `POST /tx` outcome */
export type SubmitResult = { accepted: true; id: string } | { accepted: false; id?: string; reason: string };

/** `GET /tx/:id` */
export type TxStatus =
  | { status: 'mempool' }
  | { status: 'included'; slot: number; blockHash: string; eb?: string }
  | { status: 'unknown' };

type MaybePromise<T> = T | Promise<T>;

export interface AdminHooks {
  getHealth(): MaybePromise<HealthInfo>;
  getTip(): MaybePromise<TipInfo>;
  getPeers(): MaybePromise<PeerInfo[]>;
  /** apply a link change towards `peer`; returns the resulting shape. Unknown peer → AdminError 404. */
  setLink(peer: string, patch: LinkPatch): MaybePromise<LinkShapeView>;
  /** set the node's clock offset (ms added to the wall clock when deriving slots) */
  setClockOffset(offsetMs: number): MaybePromise<void>;
  /** toggle an adversary behaviour. Unknown behaviour → AdminError 404; bad params → AdminError 400. */
  setAdversary(behaviour: string, enabled: boolean, params?: Record<string, unknown>): MaybePromise<void>;
  /** the behaviours on now, with their params (GET /adversary); absent: none */
  getAdversary?(): MaybePromise<{ behaviour: string; params: Record<string, unknown> }[]>;
  /** submit one serialised transaction (the same path as tx-submission) */
  submitTx(tx: Uint8Array): MaybePromise<SubmitResult>;
  /** where a transaction is; `id` is 64 lower-case hex characters */
  txStatus(id: string): MaybePromise<TxStatus>;
  /** graceful shutdown; called after the HTTP response has been sent */
  shutdown(): MaybePromise<void>;
}

export class AdminError extends Error {
  readonly statusCode: number;
  constructor(statusCode: number, message: string) {
    super(message);
    this.name = 'AdminError';
    this.statusCode = statusCode;
  }
}
