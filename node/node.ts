import path from 'node:path';
import type { Logger } from 'pino';
import { decodeBlock, decodeHeader, type Block } from './chain/block.ts';
import type { BlockInfo, ChainState } from './chain/chain-state.ts';
import { ChainObserver } from './chain/observer.ts';
import type { NodeConfig } from './config/schema.ts';
import type { TreeNode } from './consensus/chain-selection.ts';
import { kesCredentialOf, type ForgeKeys } from './consensus/forge.ts';
import type { GovState } from './consensus/governance.ts';
import { HeaderError, validateHeader } from './consensus/header-validation.ts';
import { epochOf, nonceWindowProblem } from './consensus/nonce.ts';
import { loadKesCredential } from './consensus/kes-credential.ts';
import { PraosNode, RotationError, parseRotation } from './consensus/praos-node.ts';
import { praosParams } from './genesis/schema.ts';
import { AdminError } from './admin/hooks.ts';
import { AdversaryInputError } from './adversary/index.ts';
import { ed25519PublicKey, ed25519Signer } from './crypto/ed25519.ts';
import { hash256, toHex } from './crypto/hash.ts';
import { vrfLeaderValue, vrfNonceValue } from './crypto/leader.ts';
import { vrfKeygen, vrfProofToHash } from './crypto/vrf.ts';
import type { Genesis } from './genesis/schema.ts';
import { tryDecodeTx, type Tx, type UndoRecord } from './ledger/index.ts';
import { NodeKernel, type Tracer } from './kernel.ts';
import { Forger } from './forger.ts';
import { governanceTx, submitPeerTxs, submitTxs, type GovernanceAction } from './tx-intake.ts';
import type { EbEntry } from './leios/engine.ts';
import { Voter } from './leios/voter.ts';
import { voteDeadlineSlot } from './leios/rules.ts';
import { BlockStore } from './storage/blockstore.ts';
import { RecentMap } from './util/recent-map.ts';

// The node: block intake (headers and bodies from peers → chain selection), what follows a
// chain switch (inclusion index, chain DB, mempool, votes), and the slot loop. Its parts:
//   kernel.ts        the record of handles (clock, chain, ledger, mempool, EB store, workers, metrics, tracer)
//   forger.ts        leadership per slot, RB + EB building
//   leios/voter.ts   when and what to vote (window timers, one vote per election)
//   leios/engine.ts  EB diffusion and checks, vote pool, certificates
//   tx-intake.ts     transactions from peers, clients and governance actions
//   chain/block-rules.ts (validity), chain/observer.ts (metrics and traces of chain switches)
// The network side (node/sync.ts) feeds it headers, bodies and txs.

export type { Tracer };

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

// Threat-model behaviours a node can be switched into at run time (admin API / scenario steps).
export const ADVERSARY_BEHAVIOURS = ['eb-withholding', 'late-eb', 'withhold-votes', 'withhold-certs'];

/** Thrown to tell the network side to drop the peer that sent this. */
export class PeerFault extends Error {
  override name = 'PeerFault';
}

export type TipListener = () => void;

/** Inclusion index (GET /tx/:id): the newest this many included txs, ~9 MB at the cap… */
const INCLUDED_MAX = 65_536;
/** …included within this long. A count cap alone filled for 78 min at soak load (14 tx/s):
 *  growth against the soak's bar although bounded; a check polls it seconds after inclusion. */
const INCLUDED_MAX_AGE_MS = 10 * 60_000;

export class LeiosNode {
  readonly kernel: NodeKernel;
  readonly name: string;
  readonly config: NodeConfig;
  readonly genesis: Genesis;
  readonly clock: NodeKernel['clock'];
  readonly stake: NodeKernel['stake'];
  readonly eras: NodeKernel['eras'];
  readonly metrics: NodeKernel['metrics'];
  readonly ledger: NodeKernel['ledger'];
  readonly mempool: NodeKernel['mempool'];
  readonly chain: ChainState<UndoRecord[]>;
  readonly leios: NodeKernel['leios'];
  readonly log: Logger;
  readonly tracer: Tracer;
  readonly workers: NodeKernel['workers'];
  /** Adversary behaviours: toggled through the admin API (see node/adversary/). */
  readonly adversary: NodeKernel['adversary'];
  /** Metrics and traces of chain switches. */
  private readonly observer: ChainObserver;
  /** KES credential, header relay (two per slot and issuer) and equivocation evidence. */
  readonly praos: PraosNode;
  /** Block production (pools only). */
  private readonly forger?: Forger;
  /** Committee voting (pools only). */
  private readonly voter?: Voter;
  private readonly coldSeed?: Uint8Array;
  private readonly tipListeners = new Set<TipListener>();
  /** Transactions on the selected chain: tx id → where (for GET /tx/:id); recent ones only (INCLUDED_MAX, INCLUDED_MAX_AGE_MS). */
  readonly included = new RecentMap<{ slot: number; blockHash: string; eb?: string }>({ maxEntries: INCLUDED_MAX, maxAgeMs: INCLUDED_MAX_AGE_MS });
  /** Set by main: how the admin API's shutdown call ends the process. */
  onShutdownRequest: (() => void) | undefined;

  constructor(d: NodeDeps) {
    const k = (this.kernel = new NodeKernel({ config: d.config, genesis: d.genesis, log: d.log, tracer: d.tracer, poolId: d.keys?.poolId, blsSeed: d.keys?.blsSeed }));
    this.name = k.name;
    this.config = k.config;
    this.genesis = k.genesis;
    this.clock = k.clock;
    this.stake = k.stake;
    this.eras = k.eras;
    this.metrics = k.metrics;
    this.ledger = k.ledger;
    this.mempool = k.mempool;
    this.chain = k.chain;
    this.leios = k.leios;
    this.log = k.log;
    this.tracer = k.tracer;
    this.workers = k.workers;
    this.adversary = k.adversary;
    this.observer = new ChainObserver({
      genesis: d.genesis,
      chain: this.chain,
      metrics: this.metrics,
      tracer: d.tracer,
      leios: this.leios,
      txsOf: (b) => k.txsOf(b),
      certifiedEbOf: (b) => k.certifiedEbOf(b),
      eraAt: (epoch, gov) => k.eraAt(epoch, gov),
      firstProtocolVersion: this.eras.at(0).protocolVersion,
      slotStartMs: (slot) => k.slotStartMs(slot),
    });
    this.leios.onComplete = () => this.runSelection(); // a certified RB may have been waiting for this closure
    const pp = praosParams(d.genesis);
    this.praos = new PraosNode({
      registry: this.metrics.registry,
      rules: pp,
      emit: (m) => d.tracer.emit(m),
      log: d.log,
      poolIdOf: (vk) => this.stake.byColdKey(vk)?.id,
    });
    const short = nonceWindowProblem(d.genesis);
    if (short) d.log.warn({ problem: short }, 'epochs shorter than the Praos randomness stabilisation window');
    if (d.keys) {
      const pool = this.stake.byId(d.keys.poolId);
      if (!pool) throw new Error(`pool ${d.keys.poolId} is not in genesis`);
      const coldVkey = ed25519PublicKey(d.keys.coldSeed);
      const vrf = vrfKeygen(d.keys.vrfSeed);
      if (toHex(coldVkey) !== toHex(pool.coldVkey)) throw new Error(`cold key does not match genesis pool ${pool.id}`);
      if (toHex(vrf.pk) !== toHex(pool.vrfVkey)) throw new Error(`VRF key does not match genesis pool ${pool.id}`);
      this.coldSeed = d.keys.coldSeed;
      const sign = ed25519Signer(d.keys.coldSeed);
      const cred = loadKesCredential({
        coldSign: sign,
        coldVkey,
        poolId: pool.id,
        ...(d.config.pool ? { coldSkeyFile: path.resolve(d.configDir, d.config.pool.coldSkeyFile) } : {}),
        dbPath: d.config.dbPath,
        rules: pp,
      });
      d.log.info({ source: cred.source, counter: cred.credential.opcert.counter, kesPeriod: cred.credential.opcert.kesPeriod }, 'KES credential');
      this.praos.credential = cred.credential;
      const keys: ForgeKeys = { poolId: pool.id, coldVkey, sign, kes: cred.credential, vrfSk: vrf.sk, vrfVkey: vrf.pk, stake: pool.stake };
      this.forgeKeys = keys;
      this.forger = new Forger(k, keys, () => this.runSelection(), (b) => {
        const verdict = this.praos.noteValidated(b.header, toHex(b.hash), b.headerBytes, this.name);
        // Header first, as for a received header: before chain selection applies the block and
        // its tip-change work runs (mempool revalidation, votes), which at 0.2 s slots took
        // tens of ms of the header's L_hdr = 200 ms before ChainSync announced it.
        this.praos.relayFresh(b.header, b.headerBytes, verdict, this.clock.currentSlot(), voteDeadlineSlot(0, this.genesis.leios));
        if (k.adversary.any) k.adversary.rbForged(b);
      });
      // adversary behaviours that sign headers (rb-equivocation): the current hot key, the header relay
      k.adversary.attachConsensus({ signHeader: (slot, msg) => kesCredentialOf(keys).signAt(slot, msg), relayHeaders: (h) => this.praos.relayHeaders(h) });
      const voter = (this.voter = new Voter({
        poolId: d.keys.poolId,
        blsSeed: d.keys.blsSeed,
        genesis: d.genesis,
        leios: this.leios,
        ledger: this.ledger,
        tip: () => this.chain.tip(),
        mayVote: (slot) => k.following && k.isLeiosEpoch(epochOf(slot, this.genesis)),
        castVote: (slot) => k.adversary.castVote(slot),
        governanceOk: (txs) => k.governanceOkOnTip(txs),
        metrics: this.metrics,
        tracer: d.tracer,
        log: d.log,
        slotStartMs: (slot) => k.slotStartMs(slot),
        currentSlot: () => this.clock.currentSlot(),
        nowMs: () => Date.now(),
      }));
      this.leios.onChecked = () => voter.tryVote();
    }
    // Behaviours on for the whole run (profile node.adversaries → config adversary).
    k.adversary.configure(d.config.adversary);
  }

  /** False once the chain moved past what this release can follow. */
  get following(): boolean {
    return this.kernel.following;
  }

  get stoppedReason(): string | undefined {
    return this.kernel.stoppedReason;
  }

  /** The complete EB a certified RB's parent announced (undefined: not here yet). */
  certifiedEbOf(b: BlockInfo): EbEntry | undefined {
    return this.kernel.certifiedEbOf(b);
  }

  /** Governance state of the selected chain's tip. */
  tipGov(): GovState {
    return this.kernel.tipGov();
  }

  eraAt(epoch: number, gov: GovState = this.tipGov()) {
    return this.kernel.eraAt(epoch, gov);
  }

  isLeiosEpoch(epoch: number, gov?: GovState): boolean {
    return this.kernel.isLeiosEpoch(epoch, gov);
  }

  protocolVersionAt(epoch: number, gov: GovState = this.tipGov()): number {
    return this.kernel.protocolVersionAt(epoch, gov);
  }

  private txsOf(b: Block): Tx[] | undefined {
    return this.kernel.txsOf(b);
  }

  /** Open the chain DB, rebuild the tree and replay the ledger along the best chain. */
  async open(): Promise<void> {
    await this.leios.open();
    this.voter?.open();
    const store = (this.kernel.store = await BlockStore.open(path.join(this.config.dbPath, 'blocks'), { logger: { info: (o, m) => this.log.info(o, m), warn: (o, m) => this.log.warn(o, m) } }));
    let n = 0;
    for (const m of store.all()) {
      const bytes = store.get(m.hash);
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
    this.log.info({ blocks: n, tip: this.chain.blockNo(), report: store.openReport }, 'chain DB opened');
    this.afterSwitch(r, false);
  }

  async close(): Promise<void> {
    this.clock.stop();
    this.voter?.close();
    this.adversary.close();
    await this.workers.close();
    await this.kernel.store?.close();
    await this.leios.close();
  }

  onTipChange(l: TipListener): () => void {
    this.tipListeners.add(l);
    return () => this.tipListeners.delete(l);
  }

  tip(): TreeNode<BlockInfo> | undefined {
    return this.chain.tip();
  }

  /** Leave the chain: the chain moved past what this release can follow. */
  private stopFollowing(reason: string, protocolVersion: number): void {
    const k = this.kernel;
    if (!k.following) return;
    k.following = false;
    k.stoppedReason = reason;
    this.metrics.following.set(0);
    this.log.error({ reason, protocolVersion, max: this.config.release.maxProtocolVersion }, 'stopped following the chain');
    this.tracer.emit({ type: 'StoppedFollowing', reason, protocolVersion, maxProtocolVersion: this.config.release.maxProtocolVersion, slot: Math.max(0, this.clock.currentSlot()) });
  }

  /** A header announced by a peer. Returns the tree node if we should fetch its body. */
  receiveHeader(headerBytes: Uint8Array, from: string, relayed = false): TreeNode<BlockInfo> | undefined {
    const key = toHex(hash256(headerBytes));
    const known = this.chain.get(key);
    if (known) {
      // After a restart the DB may hold a certified RB whose EB closure never reached the EB
      // store: its header comes back from peers, and that is when to fetch the EB.
      this.wantCertifiedEb(known, from);
      return known.data.block || known.data.invalid ? undefined : known;
    }
    if (!this.kernel.following) return undefined;
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
    if (h.prevHash && !parent) {
      if (relayed) return undefined; // off-chain evidence we cannot place: ignore, not the peer's fault
      throw new PeerFault(`header ${key.slice(0, 16)} does not connect to a known block`);
    }
    if (!this.praos.admit(h, key)) return undefined; // a third header for this slot and issuer
    try {
      const v = validateHeader(
        h,
        headerBytes.length,
        parent ? { hash: parent.data.hash, slot: parent.slot, blockNo: parent.blockNo, nonce: parent.data.nonce, counters: parent.data.counters } : null,
        this.chain.genesisNonce,
        {
          stake: this.stake,
          f: this.genesis.activeSlotCoeff,
          epochLengthSlots: this.genesis.epochLengthSlots,
          maxHeaderSize: this.genesis.protocolParams.maxHeaderSize,
          currentSlot: this.clock.currentSlot(),
          futureToleranceSlots: Math.max(2, Math.ceil(2 / this.genesis.slotLengthS)),
          protocolVersionAt: (e) => this.protocolVersionAt(e, parent?.data.gov ?? this.tipGov()),
          praos: this.genesis.praos,
        },
      );
      const node = this.chain.addHeader(h, headerBytes, v);
      const verdict = this.praos.noteValidated(h, key, headerBytes, from);
      this.praos.relayFresh(h, headerBytes, verdict, this.clock.currentSlot(), voteDeadlineSlot(0, this.genesis.leios));
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
      this.tracer.emit({ type: 'BlockRejected', sender: from, reason: 'undecodable' });
      throw new PeerFault(`undecodable block: ${(e as Error).message}`);
    }
    const key = toHex(b.hash);
    const n = this.chain.get(key);
    if (!n) throw new PeerFault(`unrequested block ${key.slice(0, 16)}`);
    if (n.data.block) return;
    const err = this.chain.addBody(b);
    if (err) {
      this.tracer.emit({ type: 'BlockRejected', block: key, slot: n.slot, sender: from, reason: err });
      throw new PeerFault(`block ${key.slice(0, 16)}: ${err}`);
    }
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
        if (err) {
          this.log.warn({ block: n.key.slice(0, 16), reason: err }, 'invalid certificate');
          this.tracer.emit({ type: 'CertificateRejected', block: n.key, slot: n.slot, eb: toHex(ann.hash), reason: err });
        }
        this.runSelection();
      })
      .catch(() => {
        // worker pool closed: shutting down
      });
  }

  /** Set by the network side: fetch this EB (announced in an RB header from `from`). */
  onEbWanted: ((hash: Uint8Array, slot: number, from: string) => void) | undefined;

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
    // immutable blocks' bodies leave memory and are read back from the chain DB (chain-state.ts)
    this.chain.bodyLoader ??= (h) => {
      try {
        const b = this.kernel.store?.get(h);
        return b ? decodeBlock(b) : undefined;
      } catch {
        return undefined; // closed (shutting down) or unreadable
      }
    };
    const rolledBackTxs: Tx[] = [];
    for (const b of r.rolledBack) {
      for (const t of this.txsOf(b.block!) ?? []) (this.included.delete(t.idHex), rolledBackTxs.push(t));
      const e = b.header.certified ? this.certifiedEbOf(b) : undefined;
      for (const t of (e && this.leios.decodedTxs(e)) ?? []) (this.included.delete(t.idHex), rolledBackTxs.push(t));
    }
    // governance txs spend nothing, so syncWithLedger keeps them: adopted ones leave by id
    const adoptedGov: string[] = [];
    for (const a of r.adopted) {
      const where = { slot: a.header.slot, blockHash: toHex(a.hash) };
      for (const t of this.txsOf(a.block!) ?? []) {
        this.included.set(t.idHex, where);
        if (t.body.update) adoptedGov.push(t.idHex);
      }
      const certEb = a.header.certified ? this.certifiedEbOf(a) : undefined;
      const ebHex = certEb ? toHex(certEb.enc.hash) : undefined;
      const ebWhere = { ...where, eb: ebHex };
      for (const t of (certEb && this.leios.decodedTxs(certEb)) ?? []) {
        this.included.set(t.idHex, ebWhere);
        if (t.body.update) adoptedGov.push(t.idHex);
      }
      if (!a.stored) {
        a.stored = true;
        this.kernel.store.append({ hash: a.hash, prevHash: a.header.prevHash, slot: a.header.slot, blockNo: a.header.blockNo, bytes: a.block!.bytes }).catch((e) => this.log.error({ err: String(e) }, 'chain DB append failed'));
      }
    }
    this.observer.switched(r, live);
    this.mempool.syncWithLedger(this.ledger);
    if (adoptedGov.length) this.mempool.remove(adoptedGov);
    for (const t of rolledBackTxs) if (!this.included.has(t.idHex)) this.mempool.addTx(t);
    this.updateMempoolMetrics();
    for (const l of this.tipListeners) l();
    const tip = this.chain.tip();
    if (live && tip && r.adopted.length > 0) this.adversary.tip({ slot: tip.slot, own: tip.data.poolId === this.forger?.poolId });
    if (live) this.voter?.tryVote();
  }

  updateMempoolMetrics(): void {
    this.kernel.updateMempoolMetrics();
  }

  /** Transactions from a peer or a client. Returns per-tx reject reason or null (accepted). */
  submitTxs(txs: Uint8Array[], decoded?: WeakMap<Uint8Array, Tx>): (string | null)[] {
    return submitTxs(this.kernel, txs, decoded);
  }

  /** Txs from a peer (TxSubmission): witnesses verified in the worker pool, then submitTxs. */
  submitPeerTxs(txs: Uint8Array[], decoded: WeakMap<Uint8Array, Tx>): Promise<(string | null)[]> {
    return submitPeerTxs(this.kernel, txs, decoded);
  }

  /** Build, sign (with this pool's cold key) and submit a governance action. */
  governanceTx(a: GovernanceAction): { tx: string; proposalId: string } | { error: string } {
    if (!this.coldSeed || !this.forger) return { error: 'this node runs no pool' };
    return governanceTx(this.kernel, { poolId: this.forger.poolId, coldSeed: this.coldSeed }, a);
  }

  txIdHex(bytes: Uint8Array): string | undefined {
    const r = tryDecodeTx(bytes);
    return r.ok ? r.tx.idHex : undefined;
  }

  /** Turn an adversary behaviour (node/adversary/) on or off: unknown → 404, bad params → 400. */
  setAdversary(behaviour: string, enabled: boolean, params?: Record<string, unknown>): void {
    try {
      this.adversary.set(behaviour, enabled, params);
    } catch (e) {
      if (e instanceof AdversaryInputError) throw new AdminError(e.status, e.message);
      throw e;
    }
  }

  private forgeKeys?: ForgeKeys;

  /** A header a peer relayed off its chain (ChainSync RelayHeader): validate and record it, never fetch it. */
  receiveRelayedHeader(headerBytes: Uint8Array, from: string): void {
    this.receiveHeader(headerBytes, from, true);
  }

  /** GET /kes: this pool's KES period, opcert and remaining evolutions. */
  kesStatus(): { pool: string; counter: number; opcertKesPeriod: number; kesPeriod: number; remainingEvolutions: number; slot: number } {
    const c = this.praos.credential;
    if (!c || !this.forgeKeys) throw new AdminError(404, 'this node runs no pool');
    const slot = Math.max(0, this.clock.currentSlot());
    return { pool: this.forgeKeys.poolId, counter: c.opcert.counter, opcertKesPeriod: c.opcert.kesPeriod, kesPeriod: Math.floor(slot / c.rules.slotsPerKesPeriod), remainingEvolutions: c.remainingAt(slot), slot };
  }

  /** POST /kes/rotate {kesSeed, opcert}: install a new hot key under a new operational certificate. */
  rotateKes(body: unknown): { counter: number; kesPeriod: number } {
    if (!this.forgeKeys) throw new AdminError(404, 'this node runs no pool');
    try {
      const r = parseRotation(body);
      const out = this.praos.rotate({ ...r, coldVkey: this.forgeKeys.coldVkey, dbPath: this.config.dbPath, currentSlot: this.clock.currentSlot() });
      this.forgeKeys.kes = this.praos.credential;
      return out;
    } catch (e) {
      if (e instanceof RotationError) throw new AdminError(400, e.message);
      throw e;
    }
  }

  /** Start the slot clock: leadership checks and block production. */
  startClock(): void {
    this.clock.start((slot, missed) => this.onSlot(slot, missed));
  }

  /** Per slot: metrics, the era check, periodic eviction, then forging. */
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
      const horizon = this.leios.evict(slot, kBack ? kBack.slot : 0);
      this.voter?.evict(horizon);
    }
    this.praos.onSlot(slot);
    this.forger?.onSlot(slot, missed);
  }
}
