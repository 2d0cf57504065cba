import { toHex } from '../node/crypto/hash.ts';
import type { TxIdAndSize, TxResult, TxSource } from '../node/network/index.ts';

// What we offer one target over TxSubmission (we are the client: the node pulls). Txs are
// queued when the generator emits them (open loop: the queue is the backlog a slow node
// leaves); the node asks for ids, then for the txs, and answers with a verdict per tx.

interface Item {
  id: Uint8Array;
  idHex: string;
  bytes: Uint8Array;
}

export interface OutboxEvents {
  /** the node fetched these txs (ms since epoch) */
  onDelivered?(idHex: string, timeMs: number): void;
  /** the node acknowledged these offered txs without fetching them (it had them): no verdict follows */
  onAcknowledged?(idHexes: string[]): void;
  /** the node's verdicts: reason null = accepted */
  onVerdicts?(results: { idHex: string; reason: string | null }[]): void;
}

export class Outbox implements TxSource {
  readonly target: string;
  private readonly events: OutboxEvents;
  /** slots before `head` were offered and are emptied: only the array is kept until compaction */
  private queue: (Item | undefined)[] = [];
  private head = 0;
  /** offered, neither fetched nor acknowledged yet */
  private readonly offered = new Map<string, Item>();
  private waiter: (() => void) | undefined;
  private closed = false;
  private generation = 0;
  private readonly now: () => number;
  delivered = 0;

  constructor(target: string, events: OutboxEvents = {}, now: () => number = Date.now) {
    this.target = target;
    this.events = events;
    this.now = now;
  }

  /** Txs queued and not yet offered to the node. */
  get backlog(): number {
    return this.queue.length - this.head;
  }

  /** Txs offered and not yet fetched. */
  get inFlight(): number {
    return this.offered.size;
  }

  push(id: Uint8Array, bytes: Uint8Array, idHex = toHex(id)): void {
    if (this.closed) return;
    this.queue.push({ id, idHex, bytes });
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }

  /** The connection dropped: a blocked request of the old connection gets nothing, and what
   *  was offered but never fetched goes back in front for the next connection. */
  requeueOffered(): number {
    this.generation++;
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
    const back = [...this.offered.values()];
    this.offered.clear();
    if (back.length) {
      this.queue = [...back, ...(this.queue.slice(this.head) as Item[])];
      this.head = 0;
    }
    return back.length;
  }

  /** Stop offering: a blocked request is answered with Done. */
  close(): void {
    this.closed = true;
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }

  async nextTxIds(max: number, blocking: boolean): Promise<TxIdAndSize[]> {
    const gen = this.generation;
    while (blocking && this.backlog === 0 && !this.closed && gen === this.generation) {
      await new Promise<void>((r) => (this.waiter = r));
    }
    if (this.closed || gen !== this.generation) return [];
    const n = Math.min(max, this.backlog);
    const out: TxIdAndSize[] = new Array(n);
    for (let i = 0; i < n; i++) {
      const it = this.queue[this.head]!;
      // Let go of it here: compaction waits for 4096 offered items, which at a target's share of
      // a soak's load (≈ 1.4 tx/s) is most of an hour of tx bytes (the soak's generator growth).
      this.queue[this.head++] = undefined;
      this.offered.set(it.idHex, it);
      out[i] = { id: it.id, size: it.bytes.length };
    }
    if (this.head > 4096 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    return out;
  }

  getTxs(ids: Uint8Array[]): Uint8Array[] {
    const t = this.now();
    const out: Uint8Array[] = [];
    for (const id of ids) {
      const k = toHex(id);
      const it = this.offered.get(k);
      if (!it) continue;
      this.offered.delete(k);
      out.push(it.bytes);
      this.delivered++;
      this.events.onDelivered?.(k, t);
    }
    return out;
  }

  /** Acknowledged without being fetched: the node had the tx already (from another peer). Without
   *  this the item, bytes and all, stayed in `offered` for the rest of the run (the soak's
   *  generator grew 253 MB/h). */
  onAcknowledged(idHexes: string[]): void {
    const known = idHexes.filter((k) => this.offered.delete(k));
    if (known.length) this.events.onAcknowledged?.(known);
  }

  onResults(results: TxResult[]): void {
    this.events.onVerdicts?.(results.map((r) => ({ idHex: toHex(r.id), reason: r.reason })));
  }
}
