import path from 'node:path';
import { decodeBlock, type Block } from './chain/block.ts';
import { ChainState, type BlockInfo, type LedgerPort } from './chain/chain-state.ts';
import type { NodeConfig } from './config/schema.ts';
import { SlotClock } from './consensus/clock.ts';
import { checkLeadership, forgeBlock, type ForgeKeys } from './consensus/forge.ts';
import { HeaderError, validateHeader } from './consensus/header-validation.ts';
import { epochOf } from './consensus/nonce.ts';
import { stakeFromGenesis, type StakeView } from './consensus/stake.ts';
import type { TreeNode } from './consensus/chain-selection.ts';
import { ed25519PublicKey, ed25519Sign, ed25519Signer } from './crypto/ed25519.ts';
import { hash256, toHex } from './crypto/hash.ts';
import { vrfLeaderValue, vrfNonceValue } from './crypto/leader.ts';
import { vrfKeygen, vrfProofToHash } from './crypto/vrf.ts';
import type { Genesis } from './genesis/schema.ts';
import { Ledger, tryDecodeTx, signTx, updateSigningBytes, proposalId, type Tx, type TxUpdate, type UndoRecord } from './ledger/index.ts';
import { Mempool, minMempoolCapacity } from './mempool/index.ts';
import { createNodeMetrics, type NodeMetrics } from './obs/metrics.ts';
import type { Logger } from 'pino';
import { BlockStore } from './storage/blockstore.ts';
import { decodeHeader } from './chain/block.ts';
import { EraSchedule } from './consensus/eras.ts';
import { checkUpdate, EMPTY_GOV, type GovState } from './consensus/governance.ts';
import { AdminError } from './admin/hooks.ts';
import { LeiosEngine, type EbEntry } from './leios/engine.ts';
import { voteOpenSlot } from './leios/rules.ts';
import { blockRules } from './chain/block-rules.ts';
import { ChainObserver } from './chain/observer.ts';
import { WorkerPool } from './work/pool.ts';
import type { TraceWriter } from './obs/trace.ts';

// The node: owns the clock, the chain state (tree + ledger), the mempool, the chain DB and
// block production. The network side (node/sync.ts) feeds it headers, bodies and txs.

/** Where trace events go: the typed writer (`node` and `time_s` are added by it). */
export type Tracer = TraceWriter;

export interface NodeKeys {
  poolId: string;
  coldSeed: Uint8Array;
  vrfSeed: Uint8Array;
  blsSeed: Uint8Array;
}

export interface NodeDeps {
  config: NodeConfig;
  configDir: string;
  genesis: Genesis;
  keys?: NodeKeys;
  log: Logger;
  tracer: Tracer;
}

/** Thrown to tell the network side to drop the peer that sent this. */
// Threat-model behaviours a node can be switched into at run time (admin API / scenario steps).
export const ADVERSARY_BEHAVIOURS = ['eb-withholding', 'late-eb', 'withhold-votes', 'withhold-certs'];

export class PeerFault extends Error {
  override name = 'PeerFault';
}

export type TipListener = () => void;

export class LeiosNode {
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
  readonly log: Logger;
  readonly tracer: Tracer;
  /** BLS votes/certificates and EB witness checks run here, off the event loop. */
  readonly workers: WorkerPool;
  private store!: BlockStore;
  /** Metrics and traces of chain switches. */
  private readonly observer: ChainObserver;
  /** Elections with a vote attempt scheduled for the start of their voting period. */
  private readonly voteTimers = new Map<number, NodeJS.Timeout>();
  private readonly forgeKeys?: ForgeKeys;
  private readonly coldSeed?: Uint8Array;
  private readonly tipListeners = new Set<TipListener>();
  private readonly decodedTxs = new WeakMap<Block, Tx[]>();
  following = true;
  stoppedReason: string | undefined;
  /** Transactions on the selected chain: tx id → where (for GET /tx/:id). */
  readonly included = new Map<string, { slot: number; blockHash: string; eb?: string }>();
  /** Set by main: how the admin API's shutdown call ends the process. */
  onShutdownRequest: (() => void) | undefined;

  constructor(d: NodeDeps) {
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
      ledger: this.ledgerPort(),
      // A certified RB is selectable once its EB's closure is here and its certificate checked out.
      ready: (n) => !n.data.header.certified || (this.certifiedEbOf(n.data) !== undefined && (n.data.certCheck === undefined || n.data.certCheck === 'ok')),
    });
    this.workers = new WorkerPool({ pools: d.genesis.pools, committee: d.genesis.leios.committee }, { size: d.config.workerThreads ?? 1 });
    this.leios = new LeiosEngine({
      name: this.name,
      poolId: d.keys?.poolId,
      blsSeed: d.keys?.blsSeed,
      genesis: d.genesis,
      dbPath: d.config.dbPath,
      mempool: this.mempool,
      metrics: this.metrics,
      tracer: d.tracer,
      log: d.log,
      workers: this.workers,
      slotStartMs: (slot) => this.clock.slotStartMs(slot) - this.clock.offsetMs,
      currentSlot: () => this.clock.currentSlot(),
      nowMs: () => Date.now(),
    });
    this.observer = new ChainObserver({
      genesis: d.genesis,
      chain: this.chain,
      metrics: this.metrics,
      tracer: d.tracer,
      leios: this.leios,
      txsOf: (b) => this.txsOf(b),
      certifiedEbOf: (b) => this.certifiedEbOf(b),
      eraAt: (epoch, gov) => this.eraAt(epoch, gov),
      firstProtocolVersion: this.eras.at(0).protocolVersion,
      slotStartMs: (slot) => this.clock.slotStartMs(slot) - this.clock.offsetMs,
    });
    this.leios.onComplete = () => this.runSelection(); // a certified RB may have been waiting for this closure
    this.leios.onChecked = () => this.tryVote();
    if (d.keys) {
      const pool = this.stake.byId(d.keys.poolId);
      if (!pool) throw new Error(`pool ${d.keys.poolId} is not in genesis`);
      const coldVkey = ed25519PublicKey(d.keys.coldSeed);
      const vrf = vrfKeygen(d.keys.vrfSeed);
      if (toHex(coldVkey) !== toHex(pool.coldVkey)) throw new Error(`cold key does not match genesis pool ${pool.id}`);
      if (toHex(vrf.pk) !== toHex(pool.vrfVkey)) throw new Error(`VRF key does not match genesis pool ${pool.id}`);
      this.coldSeed = d.keys.coldSeed;
      this.forgeKeys = { poolId: pool.id, coldVkey, sign: ed25519Signer(d.keys.coldSeed), vrfSk: vrf.sk, vrfVkey: vrf.pk, stake: pool.stake };
    }
  }

  /** The complete EB a certified RB's parent announced (undefined: not here yet). */
  certifiedEbOf(b: BlockInfo): EbEntry | undefined {
    const parent = b.header.prevHash ? this.chain.get(toHex(b.header.prevHash)) : undefined;
    const ann = parent?.data.header.ebAnnounce;
    if (!ann) return undefined;
    const e = this.leios.get(ann.hash);
    return e?.complete ? e : undefined;
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

  private txsOf(b: Block): Tx[] | undefined {
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

  /** Open the chain DB, rebuild the tree and replay the ledger along the best chain. */
  async open(): Promise<void> {
    await this.leios.open();
    this.store = await BlockStore.open(path.join(this.config.dbPath, 'blocks'), { logger: { info: (o, m) => this.log.info(o, m), warn: (o, m) => this.log.warn(o, m) } });
    let n = 0;
    for (const m of this.store.all()) {
      const bytes = this.store.get(m.hash);
      if (!bytes) continue;
      const b = decodeBlock(bytes);
      const beta = vrfProofToHash(b.header.vrfProof);
      const pool = this.stake.byColdKey(b.header.issuerVkey);
      const node = this.chain.addHeader(b.header, b.headerBytes, { leaderValue: vrfLeaderValue(beta), nonceValue: vrfNonceValue(beta), poolId: pool?.id ?? '?' });
      this.chain.addBody(b);
      node.data.stored = true;
      node.data.validated = true;
      n++;
    }
    const r = this.chain.select();
    this.log.info({ blocks: n, tip: this.chain.blockNo(), report: this.store.openReport }, 'chain DB opened');
    this.afterSwitch(r, false);
  }

  async close(): Promise<void> {
    this.clock.stop();
    for (const t of this.voteTimers.values()) clearTimeout(t);
    await this.workers.close();
    await this.store?.close();
    await this.leios.close();
  }

  onTipChange(l: TipListener): () => void {
    this.tipListeners.add(l);
    return () => this.tipListeners.delete(l);
  }

  tip(): TreeNode<BlockInfo> | undefined {
    return this.chain.tip();
  }

  protocolVersionAt(epoch: number, gov: GovState = this.tipGov()): number {
    return this.eraAt(epoch, gov).protocolVersion;
  }

  /** Leave the chain: the chain moved past what this release can follow. */
  private stopFollowing(reason: string, protocolVersion: number): void {
    if (!this.following) return;
    this.following = false;
    this.stoppedReason = reason;
    this.metrics.following.set(0);
    this.log.error({ reason, protocolVersion, max: this.config.release.maxProtocolVersion }, 'stopped following the chain');
    this.tracer.emit({ type: 'StoppedFollowing',  reason, protocolVersion, maxProtocolVersion: this.config.release.maxProtocolVersion, slot: Math.max(0, this.clock.currentSlot()) });
  }

  /** A header announced by a peer. Returns the tree node if we should fetch its body. */
  receiveHeader(headerBytes: Uint8Array, from: string): TreeNode<BlockInfo> | undefined {
    const key = toHex(hash256(headerBytes));
    const known = this.chain.get(key);
    if (known) {
      // After a restart the DB may hold a certified RB whose EB closure never reached the EB
      // store: its header comes back from peers, and that is when to fetch the EB.
      this.wantCertifiedEb(known, from);
      return known.data.block || known.data.invalid ? undefined : known;
    }
    if (!this.following) return undefined;
    let h;
    try {
      h = decodeHeader(headerBytes);
    } catch (e) {
      throw new PeerFault(`undecodable header: ${(e as Error).message}`);
    }
    if (h.protocolVersion > this.config.release.maxProtocolVersion) {
      this.stopFollowing(`block ${key.slice(0, 16)} from ${from} has protocol version ${h.protocolVersion}`, h.protocolVersion);
      return undefined;
    }
    const parent = h.prevHash ? this.chain.get(toHex(h.prevHash)) : undefined;
    if (h.prevHash && !parent) throw new PeerFault(`header ${key.slice(0, 16)} does not connect to a known block`);
    try {
      const v = validateHeader(
        h,
        headerBytes.length,
        parent ? { hash: parent.data.hash, slot: parent.slot, blockNo: parent.blockNo, nonce: parent.data.nonce } : null,
        this.chain.genesisNonce,
        {
          stake: this.stake,
          f: this.genesis.activeSlotCoeff,
          epochLengthSlots: this.genesis.epochLengthSlots,
          maxHeaderSize: this.genesis.protocolParams.maxHeaderSize,
          currentSlot: this.clock.currentSlot(),
          futureToleranceSlots: Math.max(2, Math.ceil(2 / this.genesis.slotLengthS)),
          protocolVersionAt: (e) => this.protocolVersionAt(e, parent?.data.gov ?? this.tipGov()),
        },
      );
      const node = this.chain.addHeader(h, headerBytes, v);
      this.leios.noteHeader(h.issuerVkey, h.slot, node.key, h.ebAnnounce ? { ebHash: h.ebAnnounce.hash, epochNonce: node.data.nonce.epochNonce } : undefined);
      if (h.ebAnnounce && !this.leios.has(h.ebAnnounce.hash)) this.onEbWanted?.(h.ebAnnounce.hash, h.slot, from);
      this.wantCertifiedEb(node, from);
      return this.chain.couldImprove(node) ? node : undefined;
    } catch (e) {
      if (e instanceof HeaderError) throw new PeerFault(`invalid header from ${from}: ${e.message}`);
      throw e;
    }
  }

  /** A certified RB is only selectable with its EB's closure: fetch it if we lack it (e.g. it was stale when announced). */
  private wantCertifiedEb(n: TreeNode<BlockInfo>, from: string): void {
    if (!n.data.header.certified) return;
    const parent = n.data.header.prevHash ? this.chain.get(toHex(n.data.header.prevHash)) : undefined;
    const ann = parent?.data.header.ebAnnounce;
    if (parent && ann && !this.leios.get(ann.hash)?.complete) this.onEbWanted?.(ann.hash, parent.slot, from);
  }

  /** A body fetched from a peer. */
  receiveBlock(bytes: Uint8Array, from: string): void {
    let b: Block;
    try {
      b = decodeBlock(bytes);
    } catch (e) {
      throw new PeerFault(`undecodable block: ${(e as Error).message}`);
    }
    const key = toHex(b.hash);
    const n = this.chain.get(key);
    if (!n) throw new PeerFault(`unrequested block ${key.slice(0, 16)}`);
    if (n.data.block) return;
    const err = this.chain.addBody(b);
    if (err) throw new PeerFault(`block ${key.slice(0, 16)}: ${err}`);
    this.tracer.emit({ type: 'RBReceived',  id: key, slot: b.header.slot, sender: from, recipient: this.name, size_bytes: bytes.length });
    if (b.header.certified && b.body.cert) this.checkCertificate(n, b.body.cert);
    this.runSelection();
  }

  /** Verify a received block's certificate in the worker pool; the block is selectable once it is 'ok'. */
  private checkCertificate(n: TreeNode<BlockInfo>, cert: Uint8Array): void {
    const parent = n.data.header.prevHash ? this.chain.get(toHex(n.data.header.prevHash)) : undefined;
    const ann = parent?.data.header.ebAnnounce;
    if (!parent || !ann) return; // applyBlock refuses it: certificate-without-eb
    n.data.certCheck = 'pending';
    this.leios
      .verifyCertificate(cert, ann.hash, parent.slot, parent.data.nonce.epochNonce)
      .then((err) => {
        n.data.certCheck = err ?? 'ok';
        if (err) this.log.warn({ block: n.key.slice(0, 16), reason: err }, 'invalid certificate');
        this.runSelection();
      })
      .catch(() => {
        // worker pool closed: shutting down
      });
  }

  /** Set by the network side: fetch this EB (announced in an RB header from `from`). */
  onEbWanted: ((hash: Uint8Array, slot: number, from: string) => void) | undefined;

  /**
   * Vote for the tip's EB if the CIP-164 conditions hold. Called when the tip changes and when
   * an EB's checks finish; before the voting period opens (3·L_hdr slots after the RB) it
   * schedules itself for that moment, so votes are never cast during equivocation detection.
   */
  private tryVote(): void {
    const tip = this.chain.tip();
    const ann = tip?.data.header.ebAnnounce;
    if (!tip || !ann || !this.following || !this.isLeiosEpoch(epochOf(tip.slot, this.genesis))) return;
    const d = this.leios.maybeVote(
      {
        slot: tip.slot,
        issuer: tip.data.header.issuerVkey,
        ebHash: ann.hash,
        ebSize: ann.size,
        headerArrivalMs: tip.data.headerAtMs,
        isTip: true,
        epochNonce: tip.data.nonce.epochNonce,
      },
      this.ledger,
    );
    if (d && !d.vote && d.reason === 'too-early' && !this.voteTimers.has(tip.slot)) {
      const at = this.clock.slotStartMs(voteOpenSlot(tip.slot, this.genesis.leios)) - this.clock.offsetMs;
      const slot = tip.slot;
      const t = setTimeout(() => {
        this.voteTimers.delete(slot);
        this.tryVote();
      }, Math.max(0, at - Date.now()) + 1);
      t.unref();
      this.voteTimers.set(slot, t);
      for (const [s, old] of this.voteTimers) if (s < slot - 100) (clearTimeout(old), this.voteTimers.delete(s));
    }
  }

  private runSelection(): void {
    const r = this.chain.select();
    for (const x of r.rejected) this.log.warn({ block: toHex(x.info.hash).slice(0, 16), reason: x.reason }, 'invalid block body');
    this.afterSwitch(r, true);
  }

  /**
   * After a chain switch: keep the inclusion index and the chain DB current, give rolled-back
   * transactions (RB bodies and certified EBs) back to the mempool, and let the observer turn
   * the switch into metrics and traces.
   */
  private afterSwitch(r: ReturnType<ChainState<UndoRecord[]>['select']>, live: boolean): void {
    if (r.adopted.length === 0 && r.rolledBack.length === 0) return;
    const rolledBackTxs: Tx[] = [];
    for (const b of r.rolledBack) {
      for (const t of this.txsOf(b.block!) ?? []) (this.included.delete(t.idHex), rolledBackTxs.push(t));
      const e = b.header.certified ? this.certifiedEbOf(b) : undefined;
      for (const t of (e && this.leios.decodedTxs(e)) ?? []) (this.included.delete(t.idHex), rolledBackTxs.push(t));
    }
    for (const a of r.adopted) {
      const where = { slot: a.header.slot, blockHash: toHex(a.hash) };
      for (const t of this.txsOf(a.block!) ?? []) this.included.set(t.idHex, where);
      const certEb = a.header.certified ? this.certifiedEbOf(a) : undefined;
      const ebHex = certEb ? toHex(certEb.enc.hash) : undefined;
      for (const t of (certEb && this.leios.decodedTxs(certEb)) ?? []) this.included.set(t.idHex, { ...where, eb: ebHex });
      if (!a.stored) {
        a.stored = true;
        this.store.append({ hash: a.hash, prevHash: a.header.prevHash, slot: a.header.slot, blockNo: a.header.blockNo, bytes: a.block!.bytes }).catch((e) => this.log.error({ err: String(e) }, 'chain DB append failed'));
      }
    }
    this.observer.switched(r, live);
    this.mempool.syncWithLedger(this.ledger);
    for (const t of rolledBackTxs) if (!this.included.has(t.idHex)) this.mempool.addTx(t);
    this.updateMempoolMetrics();
    for (const l of this.tipListeners) l();
    if (live) this.tryVote();
  }

  updateMempoolMetrics(): void {
    this.metrics.mempoolTxs.set(this.mempool.count);
    this.metrics.mempoolBytes.set(this.mempool.bytes);
  }

  /** Transactions from a peer or a client. Returns per-tx reject reason or null (accepted). */
  submitTxs(txs: Uint8Array[], decoded?: WeakMap<Uint8Array, Tx>): (string | null)[] {
    const out: (string | null)[] = [];
    for (const bytes of txs) {
      const pre = decoded?.get(bytes);
      const d = pre ? ({ ok: true, tx: pre } as const) : tryDecodeTx(bytes);
      const gErr = d.ok && d.tx.body.update ? (checkUpdate(d.tx.body.update, this.stake) ?? this.checkEndorsedKnown(d.tx.body.update)) : null;
      if (gErr) {
        this.metrics.txRejected.inc({ reason: gErr });
        out.push(gErr);
        continue;
      }
      // Decoded once here; mempool.add would decode again (it keeps the size/malformed verdicts).
      const r = d.ok && bytes.length <= this.genesis.protocolParams.maxTxSize ? this.mempool.addTx(d.tx) : this.mempool.add(bytes);
      if (r.ok) {
        this.metrics.txAccepted.inc();
        out.push(null);
      } else {
        this.metrics.txRejected.inc({ reason: r.reason });
        out.push(r.reason);
      }
    }
    this.updateMempoolMetrics();
    return out;
  }

  /** An endorsement must name a proposal on our chain or in our mempool. */
  private checkEndorsedKnown(u: TxUpdate): string | null {
    if (u.kind !== 'endorse') return null;
    const id = toHex(u.proposalId);
    if (this.tipGov().proposals[id]) return null;
    for (const t of this.mempool.txs()) if (t.body.update?.kind === 'propose' && toHex(proposalId(t.body.update)) === id) return null;
    return 'update-unknown-proposal';
  }

  /** Build, sign (with this pool's cold key) and submit a governance action. */
  governanceTx(a: { kind: 'propose'; era: 'praos' | 'leios'; protocolVersion: number; epoch: number } | { kind: 'endorse'; proposalId: string }): { tx: string; proposalId: string } | { error: string } {
    if (!this.coldSeed || !this.forgeKeys) return { error: 'this node runs no pool' };
    const poolId = this.forgeKeys.poolId;
    const unsigned: TxUpdate =
      a.kind === 'propose'
        ? { kind: 'propose', protocolVersion: a.protocolVersion, era: a.era, epoch: a.epoch, poolId, sig: new Uint8Array(0) }
        : { kind: 'endorse', proposalId: Buffer.from(a.proposalId, 'hex'), poolId, sig: new Uint8Array(0) };
    const update = { ...unsigned, sig: ed25519Sign(this.coldSeed, updateSigningBytes(unsigned)) } as TxUpdate;
    const tx = signTx({ inputs: [], outputs: [], fee: 0, update }, []);
    const [reason] = this.submitTxs([tx.bytes]);
    if (reason) return { error: reason };
    const pid = update.kind === 'propose' ? toHex(proposalId(update)) : toHex(update.proposalId);
    this.log.info({ kind: a.kind, proposalId: pid, tx: tx.idHex }, 'governance action submitted');
    return { tx: tx.idHex, proposalId: pid };
  }

  txIdHex(bytes: Uint8Array): string | undefined {
    const r = tryDecodeTx(bytes);
    return r.ok ? r.tx.idHex : undefined;
  }

  /** Adversary behaviours: toggled through the admin API (see node/adversary/). */
  readonly adversary = new Map<string, Record<string, unknown>>();

  setAdversary(behaviour: string, enabled: boolean, params?: Record<string, unknown>): void {
    if (!ADVERSARY_BEHAVIOURS.includes(behaviour)) throw new AdminError(404, `unknown adversary behaviour "${behaviour}" (known: ${ADVERSARY_BEHAVIOURS.join(', ')})`);
    if (enabled) this.adversary.set(behaviour, params ?? {});
    else this.adversary.delete(behaviour);
    this.log.warn({ behaviour, enabled, params }, 'adversary behaviour toggled');
  }

  /** Start the slot clock: leadership checks and block production. */
  startClock(): void {
    this.clock.start((slot, missed) => this.onSlot(slot, missed));
  }

  private onSlot(slot: number, missed: number): void {
    this.metrics.slot.set(slot);
    const epoch = epochOf(slot, this.genesis);
    this.metrics.epoch.set(epoch);
    const pv = this.protocolVersionAt(epoch);
    if (pv > this.config.release.maxProtocolVersion) {
      this.stopFollowing(`epoch ${epoch} requires protocol version ${pv}`, pv);
    }
    if (slot % 20 === 0) {
      const kBack = this.chain.atHeight(Math.max(1, this.chain.blockNo() - this.genesis.securityParam - 1));
      this.leios.evict(slot, kBack ? kBack.slot : 0);
    }
    if (!this.forgeKeys || !this.following) return;
    this.metrics.leadershipChecks.inc();
    if (missed > 0) {
      this.metrics.leadershipChecksMissed.inc(missed);
      this.tracer.emit({ type: 'SlotMissed',  slot: slot - missed, count: missed });
    }
    const tip = this.chain.tip();
    if (tip && tip.slot >= slot) return;
    const lp = checkLeadership(slot, this.chain.tipNonce(), this.forgeKeys, {
      epochLengthSlots: this.genesis.epochLengthSlots,
      f: this.genesis.activeSlotCoeff,
      totalStake: this.stake.total,
    });
    if (!lp) return;
    this.mempool.syncWithLedger(this.ledger);
    const leiosEra = this.isLeiosEpoch(epoch);
    // Linear Leios: certify the parent's EB if the timing rule and a quorum allow (then no txs).
    let cert: Uint8Array | undefined;
    let certTxIds = new Set<string>();
    const ann = tip?.data.header.ebAnnounce;
    let certSpent: Set<string> | undefined;
    if (leiosEra && tip && ann && !this.adversary.has('withhold-certs')) {
      cert = this.leios.certificateFor({ slot: tip.slot, ebHash: ann.hash }, slot);
      const e = cert ? this.leios.get(ann.hash) : undefined;
      const certTxs = (e && this.leios.decodedTxs(e)) ?? [];
      certTxIds = new Set(certTxs.map((t) => t.idHex));
      // The new EB extends the ledger after the certified EB: nothing may spend what it spent.
      certSpent = new Set(certTxs.flatMap((t) => t.body.inputs.map((i) => `${toHex(i.txId)}#${i.index}`)));
    }
    const txs = cert ? [] : this.mempool.takeForBlock(this.genesis.protocolParams.maxBlockBodySize);
    let eb;
    if (leiosEra) {
      const exclude = new Set([...certTxIds, ...txs.map((t) => t.idHex)]);
      eb = this.leios.makeEb(slot, exclude, certSpent);
    }
    const block = forgeBlock(
      lp,
      tip ? { hash: tip.data.hash, blockNo: tip.blockNo } : null,
      { txs: txs.map((t) => t.bytes), cert: cert ?? null },
      this.forgeKeys,
      pv,
      { ebAnnounce: eb ? { hash: eb.hash, size: eb.bytes.length, txBytes: eb.txBytes } : null, certified: !!cert },
    );
    const node = this.chain.addHeader(block.header, block.headerBytes, { leaderValue: lp.leaderValue, nonceValue: lp.nonceValue, poolId: this.forgeKeys.poolId });
    this.chain.addBody(block);
    node.data.validated = true; // built from mempool txs validated against this tip
    this.decodedTxs.set(node.data.block!, txs);
    this.metrics.rbForged.inc();
    this.tracer.rbGenerated({
      id: toHex(block.hash),
      slot,
      size_bytes: block.bytes.length,
      tx_payload_bytes: block.bodyBytes.length,
      parent: tip ? tip.key : null,
      endorsement: cert && ann ? toHex(ann.hash) : null,
      announced_eb: eb ? toHex(eb.hash) : null,
      block_no: block.header.blockNo,
      tx_count: txs.length,
    });
    this.leios.noteHeader(block.header.issuerVkey, slot, toHex(block.hash), eb ? { ebHash: eb.hash, epochNonce: node.data.nonce.epochNonce } : undefined);
    this.runSelection();
  }
}
