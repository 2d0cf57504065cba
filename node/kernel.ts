import { randomnessStabilisationWindow } from './consensus/nonce.ts';
import type { Logger } from 'pino';
import type { Block } from './chain/block.ts';
import { ChainState, type BlockInfo, type LedgerPort } from './chain/chain-state.ts';
import { blockRules } from './chain/block-rules.ts';
import type { NodeConfig } from './config/schema.ts';
import { SlotClock } from './consensus/clock.ts';
import { EraSchedule } from './consensus/eras.ts';
import { checkedGovernance, EMPTY_GOV, govParams, type GovState } from './consensus/governance.ts';
import { stakeFromGenesis, type StakeView } from './consensus/stake.ts';
import { toHex } from './crypto/hash.ts';
import type { Genesis } from './genesis/schema.ts';
import { inputKeys, Ledger, tryDecodeTx, type Tx, type UndoRecord } from './ledger/index.ts';
import { LeiosEngine, type EbEntry } from './leios/engine.ts';
import { Mempool, minMempoolCapacity } from './mempool/index.ts';
import { createNodeMetrics, type NodeMetrics } from './obs/metrics.ts';
import type { TraceWriter } from './obs/trace.ts';
import type { BlockStore } from './storage/blockstore.ts';
import { WorkerPool } from './work/pool.ts';
import { Adversary } from './adversary/index.ts';
import { blsSecretKey, blsSign } from './crypto/bls.ts';

// The node's record of handles, as ouroboros-consensus' NodeKernel: chain, ledger, mempool,
// stores, worker pool, tracer and metrics, built once and shared by every part of the node
// (block intake in node.ts, forger.ts, leios/voter.ts, tx-intake.ts, the network side), plus
// the few chain queries they all ask (era of an epoch, tip governance, a certified RB's EB).

/** Where trace events go: the typed writer (`node` and `time_s` are added by it). */
export type Tracer = TraceWriter;

export interface KernelDeps {
  config: NodeConfig;
  genesis: Genesis;
  log: Logger;
  tracer: Tracer;
  /** this node's pool (absent: a relay): the adversary behaviours sign and tell own EBs with it */
  poolId?: string;
  blsSeed?: Uint8Array;
}

export class NodeKernel {
  readonly name: string;
  readonly config: NodeConfig;
  readonly genesis: Genesis;
  readonly clock: SlotClock;
  readonly stake: StakeView;
  readonly eras: EraSchedule;
  readonly metrics: NodeMetrics;
  readonly ledger: Ledger;
  readonly mempool: Mempool;
  readonly chain: ChainState<UndoRecord[]>;
  readonly leios: LeiosEngine;
  /** BLS votes/certificates and EB witness checks run here, off the event loop. */
  readonly workers: WorkerPool;
  readonly log: Logger;
  readonly tracer: Tracer;
  /** The chain DB (set when the node opens it). */
  store!: BlockStore;
  /** Adversary behaviours switched on (node config, admin API) and their hooks; see node/adversary/. */
  readonly adversary: Adversary;
  /** False once the chain moved past what this release can follow. */
  following = true;
  stoppedReason: string | undefined;
  /** RB bodies decoded once (forged ones: the mempool's own Tx objects). */
  private readonly decodedTxs = new WeakMap<Block, Tx[]>();

  constructor(d: KernelDeps) {
    this.name = d.config.name;
    this.config = d.config;
    this.genesis = d.genesis;
    this.log = d.log;
    this.tracer = d.tracer;
    this.clock = new SlotClock({
      systemStartMs: Date.parse(d.genesis.systemStart),
      slotLengthS: d.genesis.slotLengthS,
      offsetMs: d.config.clockOffsetMs,
    });
    this.stake = stakeFromGenesis(d.genesis);
    this.eras = new EraSchedule(d.genesis.eras);
    this.metrics = createNodeMetrics(this.name);
    this.metrics.nodeInfo.set({ version: d.config.release.version, max_protocol_version: String(d.config.release.maxProtocolVersion) }, 1);
    this.metrics.following.set(1);
    this.ledger = Ledger.fromGenesis(d.genesis);
    this.mempool = new Mempool(this.ledger, { capacityBytes: d.config.mempoolCapacityBytes ?? minMempoolCapacity(d.genesis) });
    this.chain = new ChainState<UndoRecord[]>({
      initialNonce: Buffer.from(d.genesis.initialNonce, 'hex'),
      k: d.genesis.securityParam,
      epochLengthSlots: d.genesis.epochLengthSlots,
      // Praos as cardano-node runs it: tiebreak distance, nonce stabilisation window 4k/f
      praos: d.genesis.praos,
      stabilisationWindowSlots: randomnessStabilisationWindow(d.genesis.securityParam, d.genesis.activeSlotCoeff),
      ledger: this.ledgerPort(),
      // A certified RB is selectable once its EB's closure is here and its certificate checked out.
      ready: (n) => !n.data.header.certified || (this.certifiedEbOf(n.data) !== undefined && (n.data.certCheck === undefined || n.data.certCheck === 'ok')),
    });
    this.workers = new WorkerPool({ pools: d.genesis.pools, committee: d.genesis.leios.committee }, { size: d.config.workerThreads ?? 1 });
    this.metrics.workerHeapSource = () => this.workers.heapStatistics();
    this.leios = new LeiosEngine({
      name: this.name,
      genesis: d.genesis,
      dbPath: d.config.dbPath,
      mempool: this.mempool,
      metrics: this.metrics,
      tracer: d.tracer,
      log: d.log,
      workers: this.workers,
      slotStartMs: (slot) => this.slotStartMs(slot),
      currentSlot: () => this.clock.currentSlot(),
      nowMs: () => Date.now(),
    });
    const blsSk = d.blsSeed ? blsSecretKey(d.blsSeed) : undefined;
    this.adversary = new Adversary({
      name: this.name,
      poolId: d.poolId,
      log: d.log,
      trace: (behaviour, action, detail) => d.tracer.emit({ type: 'Adversary', behaviour, action, ...(detail ? { detail } : {}) }),
      currentSlot: () => this.clock.currentSlot(),
      slotLengthS: d.genesis.slotLengthS,
      ebClosure: (hashHex) => {
        const e = this.leios.store.get(hashHex);
        return e?.complete ? { enc: e.enc, txs: e.txs as Uint8Array[] } : undefined;
      },
      holdEb: (enc, txs) => this.leios.store.set({ enc, txs, missing: 0, complete: true, stored: false, rbSlot: enc.eb.slot, receivedAtMs: Date.now() }),
      blsSign: (msg) => (blsSk ? blsSign(blsSk, msg) : undefined),
      mempoolConflict: (tx) => {
        const keys = new Set(inputKeys(tx));
        for (const t of this.mempool.txs()) if (inputKeys(t).some((k) => keys.has(k))) return t;
        return undefined;
      },
    });
  }

  /** Start of a slot in local wall-clock ms (the clock offset removed), comparable with Date.now(). */
  slotStartMs(slot: number): number {
    return this.clock.slotStartMs(slot) - this.clock.offsetMs;
  }

  /** The complete EB a certified RB's parent announced (undefined: not here yet). */
  certifiedEbOf(b: BlockInfo): EbEntry | undefined {
    const parent = b.header.prevHash ? this.chain.get(toHex(b.header.prevHash)) : undefined;
    const ann = parent?.data.header.ebAnnounce;
    if (!ann) return undefined;
    const e = this.leios.get(ann.hash);
    return e?.complete ? e : undefined;
  }

  /** An EB closure's governance actions are valid on the tip (the voter's check; block-rules does RBs). */
  governanceOkOnTip(txs: readonly Tx[]): boolean {
    const tip = this.chain.tip();
    return checkedGovernance(this.tipGov(), txs, tip?.slot ?? 0, govParams(this.genesis, this.stake)).ok;
  }

  /** Governance state of the selected chain's tip. */
  tipGov(): GovState {
    return this.chain.tip()?.data.gov ?? EMPTY_GOV;
  }

  eraAt(epoch: number, gov: GovState = this.tipGov()) {
    return this.eras.at(epoch, gov.updates);
  }

  isLeiosEpoch(epoch: number, gov?: GovState): boolean {
    return this.eraAt(epoch, gov).era === 'leios';
  }

  protocolVersionAt(epoch: number, gov: GovState = this.tipGov()): number {
    return this.eraAt(epoch, gov).protocolVersion;
  }

  /** An RB body's transactions, decoded once (undefined: one does not decode). */
  txsOf(b: Block): Tx[] | undefined {
    let txs = this.decodedTxs.get(b);
    if (txs) return txs;
    txs = [];
    for (const bytes of b.body.txs) {
      const r = tryDecodeTx(bytes);
      if (!r.ok) return undefined;
      txs.push(r.tx);
    }
    this.decodedTxs.set(b, txs);
    return txs;
  }

  /** A forged RB's transactions are the mempool's, already decoded. */
  noteTxsOf(b: Block, txs: Tx[]): void {
    this.decodedTxs.set(b, txs);
  }

  updateMempoolMetrics(): void {
    this.metrics.mempoolTxs.set(this.mempool.count);
    this.metrics.mempoolBytes.set(this.mempool.bytes);
  }

  private ledgerPort(): LedgerPort<UndoRecord[]> {
    return blockRules({
      genesis: this.genesis,
      ledger: this.ledger,
      stake: this.stake,
      // The engine is created after the chain state: resolve it at call time.
      leios: { get: (h) => this.leios.get(h), decodedTxs: (e) => this.leios.decodedTxs(e) },
      txsOf: (b) => this.txsOf(b),
      eraAt: (epoch, gov) => this.eraAt(epoch, gov),
    });
  }
}
