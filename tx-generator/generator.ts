import fs from 'node:fs';
import path from 'node:path';
import { loadGenesis, readKeyFile, ConfigError } from '../node/config/load.ts';
import type { Genesis } from '../node/genesis/schema.ts';
import { buildTx, inputKey, makeSigner, minFee, TxBuildError, type BuildTxInput, type Tx, type TxOut, type TxSigner } from '../node/ledger/index.ts';
import { connectPeer, PROTOCOL, TxSubmissionClient, type Peer } from '../node/network/index.ts';
import { LEIOS_PROTOCOLS } from '../node/leios/diffusion.ts';
import { Accounting, type ChainBlock, type TxRecord } from './accounting.ts';
import { resolveGeneratorConfig, targetTps, GeneratorConfigError, type GeneratorConfig, type GeneratorTarget } from './config.ts';
import { ChainFollower, type FollowedBlock } from './follower.ts';
import { makeMetrics, serveMetrics, type GeneratorMetrics } from './metrics.ts';
import { Outbox } from './outbox.ts';
import { rateFiguresFromCounts, round, txLine, type GeneratorSummary } from './summary.ts';
import { UtxoPool, Wallet, type Utxo } from './utxo.ts';
import { makeWorkload, type Workload } from './workloads/index.ts';

// The generator, in phases like the cardano workbench's:
//   connect   one connection per target (handshake name `txgen-…`), TxSubmission client on
//             each; ChainSync + BlockFetch on the followed target
//   import    follow the chain from the origin: our genesis outputs, minus what the chain spent
//   fan-out   split big outputs into enough small ones for the whole run; wait until on chain
//   benchmark open-loop emission at the target rate; every tx built from confirmed inputs
//             nobody else is spending, offered to its target(s)
//   drain     wait (bounded) for pending txs to be included or rejected
// then generator/summary.json + txs.jsonl (submissions.jsonl is streamed during the run).

export type GeneratorPhase = 'connect' | 'import' | 'fanout' | 'idle' | 'benchmark' | 'drain' | 'done';
export type GeneratorLog = (level: 'debug' | 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;

export interface GeneratorProgress {
  phase: GeneratorPhase;
  /** seconds since the phase started */
  phaseS: number;
  submitted: number;
  accepted: number;
  rejected: number;
  included: number;
  pending: number;
  backlog: number;
  /** txs emitted in the last whole second */
  rateTps: number;
  targetTps: number;
  utxosAvailable: number;
}

export interface RunGeneratorOptions {
  /** Abort: stops emission, skips the drain, writes the summary and resolves (aborted: true). */
  signal?: AbortSignal;
  onProgress?: (p: GeneratorProgress) => void;
  log?: GeneratorLog;
  /** Base for relative paths of an in-memory config (default: cwd). */
  baseDir?: string;
  /** Also export prom-client's default process metrics (default: true when serving metrics). */
  defaultMetrics?: boolean;
}

/** Infrastructure failure (cannot connect, fan-out refused, ...): exit code 3 in main.ts. */
export class GeneratorError extends Error {
  override name = 'GeneratorError';
}

const FEE_SLACK_BYTES = 64;
/** in outDir: inputs of txs a run left pending, so a restarted generator does not spend them */
export const PENDING_INPUTS_FILE = 'pending-inputs.json';

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

function writeJsonAtomic(file: string, value: unknown): void {
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, JSON.stringify(value, null, 2) + '\n');
  fs.renameSync(tmp, file);
}

/** One target: its outbox and (re)connection. */
class Link {
  readonly target: GeneratorTarget;
  readonly outbox: Outbox;
  peer: Peer | undefined;
  connects = 0;
  private stopping = false;
  private readonly gen: Generator;

  constructor(gen: Generator, target: GeneratorTarget) {
    this.gen = gen;
    this.target = target;
    this.outbox = new Outbox(target.name, {
      onDelivered: (id, t) => gen.delivered(id, t),
      onVerdicts: (rs) => gen.verdicts(target.name, rs),
      onAcknowledged: (ids) => gen.acknowledged(target.name, ids),
    });
  }

  get up(): boolean {
    return !!this.peer && !this.peer.closed;
  }

  /** Dial until connected or the deadline passes. */
  async connect(deadlineMs: number, signal?: AbortSignal): Promise<void> {
    let wait = 250;
    let lastErr = '';
    while (!this.stopping && !signal?.aborted) {
      try {
        const peer = await connectPeer(
          { host: this.target.host, port: this.target.port },
          {
            name: this.gen.cfg.handshakeName,
            networkMagic: this.gen.networkMagic,
            versions: this.gen.cfg.versions,
            extraProtocols: LEIOS_PROTOCOLS,
            maxMessageBytes: { blockfetch: 8 << 20 },
            handshakeTimeoutMs: 5000,
          },
        );
        this.attach(peer);
        return;
      } catch (e) {
        lastErr = (e as Error).message;
        if (Date.now() + wait > deadlineMs) break;
        await sleep(wait, signal);
        wait = Math.min(5000, wait * 2);
      }
    }
    if (!this.stopping && !signal?.aborted) throw new GeneratorError(`cannot connect to ${this.target.name} (${this.target.host}:${this.target.port}): ${lastErr}`);
  }

  private attach(peer: Peer): void {
    this.peer = peer;
    this.connects++;
    // The node offers its own mempool to every peer; we only submit.
    peer.mux.handle(PROTOCOL.txSubmission, 'responder', () => {});
    new TxSubmissionClient(peer, this.outbox, { maxWindow: 0xffff });
    this.gen.log('info', 'connected', { target: this.target.name, version: peer.version, peerName: peer.name });
    peer.onClose((reason) => {
      if (this.peer !== peer) return;
      this.peer = undefined;
      const back = this.outbox.requeueOffered();
      if (this.stopping) return;
      this.gen.log('warn', 'connection lost; reconnecting', { target: this.target.name, reason, requeued: back });
      void this.connect(Infinity).catch(() => {});
    });
    this.gen.onLinkUp(this, peer);
  }

  close(): void {
    this.stopping = true;
    this.outbox.close();
    const p = this.peer;
    if (p) setTimeout(() => p.close('tx-generator done'), 50).unref();
  }
}

class Generator {
  readonly cfg: GeneratorConfig;
  readonly opts: RunGeneratorOptions;
  readonly genesis: Genesis;
  readonly networkMagic: number;
  readonly signer: TxSigner;
  readonly metrics: GeneratorMetrics;
  readonly links: Link[];
  readonly followLink: Link;
  readonly follower: ChainFollower;
  readonly wallet: Wallet;
  readonly pool = new UtxoPool();
  /** Blocks this deep are never rolled back (≥ 2k): settling and forgetting spent keys use it. */
  private readonly settleDepth: number;
  /** benchmark txs; decided ones settle out of memory into txs.jsonl as the chain grows */
  readonly acct: Accounting;
  /** fan-out txs: few (bounded by the UTxOs prepared), kept to the end */
  readonly fanoutAcct = new Accounting();
  workload!: Workload;
  tps = 0;
  phase: GeneratorPhase = 'connect';
  phaseStartMs = Date.now();
  readonly phaseS = { connectS: 0, importS: 0, fanoutS: 0, benchmarkS: 0, drainS: 0 };
  readonly fanout = { txs: 0, utxos: 0, rounds: 0, perUtxo: 0, durationS: 0 };
  /** an output is a usable input if amount ≥ minUsable */
  minUsable = 0;
  perUtxo = 0;
  /** fee budget of one benchmark tx */
  txFee = 0;
  feeding = false;
  benchStartMs: number | undefined;
  benchEndMs: number | undefined;
  /** txs emitted in each second of the benchmark phase (not one entry per tx) */
  readonly emitCounts: number[] = [];
  emitted = 0;
  lastEmitMs: number | undefined;
  /** emission times of the last second, for the progress rate */
  private readonly recentEmits: number[] = [];
  /** settled txs.jsonl lines not yet written; the file they go to */
  private txsBuf: string[] = [];
  private txsFd: number | undefined;
  private txsDone = false;
  starved = 0;
  bytesSubmitted = 0;
  aborted = false;
  /** The phase the stop signal came in, if it came. */
  stoppedIn: GeneratorPhase | undefined;
  certifiedBlocks = 0;
  /** inputs of fresh single-target txs, returned to the pool if the node refuses the tx for lack of room */
  private readonly releasable = new Map<string, Utxo[]>();
  private submissions: fs.WriteStream | undefined;

  constructor(cfg: GeneratorConfig, opts: RunGeneratorOptions) {
    this.cfg = cfg;
    this.opts = opts;
    try {
      this.genesis = loadGenesis(cfg.genesisFile, { verifyPops: false }); // it never checks a BLS signature
      this.signer = makeSigner(readKeyFile(cfg.paymentSkeyFile, 'PaymentSigningKey'));
    } catch (e) {
      if (e instanceof ConfigError) throw new GeneratorConfigError(e.message);
      throw e;
    }
    this.networkMagic = cfg.networkMagic ?? this.genesis.networkMagic;
    // deeper than any rollback (k), within the follower's and the accounting's undo window
    const settleDepth = (this.settleDepth = Math.min(4000, Math.max(20, 2 * this.genesis.securityParam)));
    // Blocks (with their decoded txs) and undo records kept: as deep as anything can still look
    // (settling, a rollback, fan-out confirmations), not 4096 — an hour of ci-bench load is a few
    // hundred blocks, so that kept every tx ever seen in memory.
    const keepBlocks = settleDepth + cfg.confirmations + 16;
    this.acct = new Accounting({ settleDepth, keepUndo: keepBlocks, onSettle: (rec, acct) => this.settled(rec, acct) });
    this.metrics = makeMetrics(opts.defaultMetrics ?? !!cfg.metrics);
    this.wallet = new Wallet(this.signer.address, this.genesis.initialUtxo, keepBlocks);
    this.follower = new ChainFollower(
      { onBlock: (b) => this.onBlock(b), onRollback: (b) => this.onRollback(b) },
      { address: this.signer.address, keep: keepBlocks, log: (l, m, f) => this.log(l, m, f) },
    );
    this.links = cfg.targets.map((t) => new Link(this, t));
    this.followLink = this.links.find((l) => l.target.name === (cfg.followTarget ?? cfg.targets[0].name))!;
  }

  log(level: 'debug' | 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>): void {
    try {
      this.opts.log?.(level, msg, fields);
    } catch {
      /* logging must not break the run */
    }
  }

  setPhase(p: GeneratorPhase): void {
    const now = Date.now();
    const key = `${this.phase}S` as keyof Generator['phaseS'];
    if (key in this.phaseS) this.phaseS[key] = round((now - this.phaseStartMs) / 1000, 3)!;
    this.metrics.phase.reset();
    this.metrics.phase.set({ phase: p }, 1);
    this.phase = p;
    this.phaseStartMs = now;
    this.log('info', `phase ${p}`);
  }

  onLinkUp(link: Link, peer: Peer): void {
    if (link === this.followLink) {
      this.follower.attach(peer).catch((e) => this.log('warn', 'chain sync did not start', { error: (e as Error).message }));
    }
  }

  // ---------------------------------------------------------------- chain events

  private onBlock(b: FollowedBlock): void {
    if (b.certified) this.certifiedBlocks++;
    this.wallet.applyBlock(b.key, b.blockNo, b.txs);
    const cb: ChainBlock = { key: b.key, slot: b.slot, blockNo: b.blockNo, timeMs: b.timeMs, txs: b.txs };
    for (const rec of this.acct.applyBlock(cb)) this.metrics.inclusionLatency.observe(Math.max(0, (rec.included!.timeMs - rec.submitTimeMs) / 1000));
    this.fanoutAcct.applyBlock(cb);
    // outputs spent on chain are never handed out again
    for (const t of cb.txs) for (const k of t.inputs) this.pool.retire(k, b.blockNo);
    // a block deeper than settleDepth is never rolled back (settleDepth ≥ 2k)
    this.pool.forgetSpentBefore(b.blockNo - this.settleDepth);
    const confirmed = this.follower.atBlockNo(b.blockNo - this.cfg.confirmations + 1);
    if (confirmed) {
      if (this.feeding && this.cfg.recycle) this.feedPool(confirmed);
      // Nothing reads a block's txs once it is confirmed (rollbacks use the wallet's and the
      // accounting's undo records); the follower keeps settleDepth + confirmations + 16 blocks,
      // each with its certified EB's txs (as ChainTx records; decoded with bytes they were 12 MB at
      // 845 s of a soak).
      confirmed.txs = [];
    }
  }

  private onRollback(b: FollowedBlock): void {
    this.wallet.rollbackBlock(b.key);
    this.acct.rollbackBlock(b.key);
    this.fanoutAcct.rollbackBlock(b.key);
  }

  /** Add the usable outputs a confirmed block created for us to the pool. */
  private feedPool(b: FollowedBlock): void {
    for (const tx of b.txs) {
      for (const { index } of tx.ours) {
        const u = this.wallet.get(`${tx.idHex}#${index}`);
        if (u && this.usable(u)) this.pool.add(u);
      }
    }
  }

  /** Can pay for one benchmark tx's share of inputs. */
  usable(u: Utxo): boolean {
    return u.amount >= this.minUsable;
  }

  confirmed(u: Utxo): boolean {
    return u.blockNo === 0 || this.follower.depth(u.blockNo) >= this.cfg.confirmations;
  }

  // ---------------------------------------------------------------- verdicts

  delivered(idHex: string, t: number): void {
    const rec = this.acct.get(idHex) ?? this.fanoutAcct.get(idHex);
    if (rec && rec.deliveredTimeMs === undefined) rec.deliveredTimeMs = t;
  }

  /** Offered to `target`, acknowledged unfetched: the node had them, so their records may settle
   *  without waiting 3·settleDepth for a verdict that never comes (the soak's ~20 min of records). */
  acknowledged(target: string, ids: string[]): void {
    for (const id of ids) {
      if (this.fanoutAcct.get(id)) this.fanoutAcct.acknowledged(target, id);
      else this.acct.acknowledged(target, id);
    }
  }

  verdicts(target: string, rs: { idHex: string; reason: string | null }[]): void {
    for (const { idHex, reason } of rs) {
      if (this.fanoutAcct.get(idHex)) {
        this.fanoutAcct.verdict(target, idHex, reason);
        if (reason !== null) this.log('warn', 'fan-out tx rejected', { target, id: idHex, reason });
        continue;
      }
      const r = this.acct.verdict(target, idHex, reason);
      if (!r.rec) continue;
      if (reason === null) this.metrics.accepted.inc({ target });
      else this.metrics.rejected.inc({ target, reason });
      if (r.nowRejected && reason === 'mempool-full') {
        const ins = this.releasable.get(idHex);
        if (ins) this.pool.release(ins);
      }
      this.releasable.delete(idHex);
    }
  }

  // ---------------------------------------------------------------- phases

  async connectAll(): Promise<void> {
    const deadline = Date.now() + this.cfg.connectTimeoutS * 1000;
    await Promise.all(this.links.map((l) => l.connect(deadline, this.opts.signal)));
  }

  async importFunds(): Promise<void> {
    const t = this.cfg.syncTimeoutS * 1000;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new GeneratorError(`not caught up with ${this.followLink.target.name}'s chain within ${this.cfg.syncTimeoutS} s`)), t);
    });
    const aborted = new Promise<void>((r) => this.opts.signal?.addEventListener('abort', () => r(), { once: true }));
    try {
      await Promise.race([this.follower.waitSynced(), timeout, aborted]);
    } finally {
      clearTimeout(timer);
    }
    this.log('info', 'funds imported', { utxos: this.wallet.size, total: this.wallet.total(), tipBlockNo: this.follower.tipBlockNo });
  }

  /** Template tx: natural size and fee of a benchmark tx. */
  template(): Tx {
    const pp = this.genesis.protocolParams;
    const inputs: BuildTxInput[] = Array.from({ length: this.cfg.inputs }, (_, i) => ({ txId: new Uint8Array(32).fill(0xab), index: i, amount: 2 ** 40 }));
    const outputs: TxOut[] = Array.from({ length: this.cfg.outputs - 1 }, () => ({ address: this.signer.address, amount: 2 ** 36 }));
    return buildTx({ inputs, outputs, changeAddress: this.signer.address, padToBytes: this.cfg.txSizeBytes, protocolParams: pp, signers: [this.signer] });
  }

  /** Seconds between blocks on average (slot length / f). */
  blockIntervalS(): number {
    return this.genesis.slotLengthS / this.genesis.activeSlotCoeff;
  }

  /**
   * How many prepared UTxOs the run needs: enough for the whole run, or, when outputs are
   * recycled, for the time until recycled ones come back (≥ 1 min or 12 blocks).
   */
  plannedUtxos(): number {
    if (this.cfg.utxoCount !== undefined) return this.cfg.utxoCount;
    let horizon = this.cfg.durationS ?? Infinity;
    if (this.cfg.recycle) horizon = Math.min(horizon, Math.max(60, 12 * this.blockIntervalS()));
    else if (!Number.isFinite(horizon)) horizon = 600;
    let txs = this.workload.arrivals.profile.cumulative(horizon);
    if (this.workload.kind === 'poisson') txs += 5 * Math.sqrt(txs) + 5;
    if (this.cfg.count !== undefined) txs = Math.min(txs, this.cfg.count);
    return Math.ceil(txs * this.workload.freshShare * this.cfg.inputs * 1.05) + 10;
  }

  /** Is (or will the chain shortly be) in a Leios era? */
  private leiosSoon(): boolean {
    const g = this.genesis;
    const slot = Math.max(0, (Date.now() - Date.parse(g.systemStart)) / 1000 / g.slotLengthS);
    const epoch = Math.floor(slot / g.epochLengthSlots);
    return g.eras.some((e) => e.era === 'leios' && e.startEpoch <= epoch + 1);
  }

  async fanOut(): Promise<void> {
    const pp = this.genesis.protocolParams;
    const tpl = this.template();
    this.txFee = minFee(pp, tpl.size + FEE_SLACK_BYTES) + 2; // +1: a conflict twin pays one more
    this.minUsable = Math.ceil((this.txFee + this.cfg.outputs * 3) / this.cfg.inputs);
    let need = this.plannedUtxos();
    const mine = () => this.wallet.all().filter((u) => this.confirmed(u) && !this.pool.isKnown(u.key));
    const total = mine().reduce((s, u) => s + u.amount, 0);
    const affordable = Math.floor((total * 0.9) / this.minUsable);
    if (affordable < 1) throw new GeneratorError(`the payment key owns ${total} on chain: not enough for one tx (${this.minUsable} per input)`);
    if (affordable < need) {
      this.log('warn', 'funds cover fewer UTxOs than the run needs; it may starve', { need, affordable });
      need = affordable;
    }
    // each UTxO can pay for ~20 generations of txs when outputs are recycled
    this.perUtxo = Math.max(this.minUsable, Math.min(this.minUsable * 20, Math.floor((total * 0.9) / need)));
    this.fanout.perUtxo = this.perUtxo;
    // Fan-out txs in an EB the generator cannot fetch would never be seen: then keep them to
    // RB-sized batches (see submitFanout).
    const pace = this.leiosSoon() && !(await this.follower.ebSupport());
    const budget = pace ? Math.max(1, Math.floor(pp.maxBlockBodySize / 2)) : Infinity;
    const maxOut = Math.max(2, Math.min(this.cfg.fanoutOutputs, Math.floor((Math.min(pp.maxTxSize, budget) - 150) / 45)));
    const deadline = Date.now() + this.cfg.fanoutTimeoutS * 1000;

    while (!this.opts.signal?.aborted) {
      const have = mine().filter((u) => this.usable(u)).length;
      if (have >= need) break;
      const fee = minFee(pp, (maxOut + 2) * 45 + 200);
      // outputs that can give at least two leaves and keep a usable change
      const big = mine()
        .filter((u) => u.amount >= 3 * this.perUtxo + fee)
        .sort((a, b) => b.amount - a.amount);
      if (big.length === 0) {
        this.log('warn', 'no more outputs to split; running with fewer UTxOs', { have, need });
        break;
      }
      let deficit = need - have;
      const round: Tx[] = [];
      // as few txs as will do: one per maxOut − 1 leaves (a tree when outputs are scarce)
      const splitters = big.slice(0, Math.min(big.length, Math.ceil(deficit / (maxOut - 1))));
      for (let i = 0; i < splitters.length && deficit > 0; i++) {
        const u = splitters[i];
        const share = Math.ceil(deficit / (splitters.length - i));
        const maxLeaves = Math.floor((u.amount - fee) / this.perUtxo) - 1; // room for the change
        const want = Math.min(share, maxLeaves);
        let outputs: TxOut[];
        if (want <= maxOut - 1) {
          outputs = Array.from({ length: want }, () => ({ address: this.signer.address, amount: this.perUtxo }));
          deficit -= want;
        } else {
          // a tree level: intermediate outputs, each split again next round
          const m = Math.min(maxOut, Math.ceil(want / (maxOut - 1)));
          const each = Math.floor((u.amount - fee) / m);
          outputs = Array.from({ length: m - 1 }, () => ({ address: this.signer.address, amount: each }));
          deficit -= Math.min(want, m * (maxOut - 1));
        }
        round.push(buildTx({ inputs: [{ txId: u.txId, index: u.index, amount: u.amount }], outputs, changeAddress: this.signer.address, protocolParams: pp, signers: [this.signer] }));
      }
      this.fanout.rounds++;
      this.fanout.txs += round.length;
      this.log('info', 'fan-out round', { round: this.fanout.rounds, txs: round.length, have, need, paced: pace });
      await this.submitFanout(round, deadline, budget);
      if (this.opts.signal?.aborted) return;
    }
    // every usable output, the small ones first
    let added = 0;
    for (const u of mine().sort((a, b) => a.amount - b.amount)) if (this.usable(u) && this.pool.add(u)) added++;
    this.fanout.utxos = added;
    this.log('info', 'UTxOs ready', { utxos: added, perUtxo: this.perUtxo, rounds: this.fanout.rounds });
  }

  /**
   * Submit a round of fan-out txs, keeping at most `budget` bytes of them unconfirmed (half an
   * RB when they must not land in EBs), and wait until all are confirmed.
   */
  private async submitFanout(round: Tx[], deadline: number, budget: number): Promise<void> {
    const target = this.followLink.target.name;
    let next = 0;
    for (;;) {
      if (this.opts.signal?.aborted) return;
      let inflight = 0;
      let done = next === round.length;
      for (let k = 0; k < next; k++) {
        const rec = this.fanoutAcct.get(round[k].idHex)!;
        const st = this.fanoutAcct.state(rec);
        if (st === 'rejected') throw new GeneratorError(`fan-out tx ${rec.idHex.slice(0, 16)} refused by ${target}: ${this.fanoutAcct.rejectReason(rec)}`);
        if (st !== 'included') inflight += rec.size;
        if (st !== 'included' || this.follower.depth(rec.included!.blockNo) < this.cfg.confirmations) done = false;
      }
      if (done) return;
      const now = Date.now();
      while (next < round.length && (inflight === 0 || inflight + round[next].size <= budget)) {
        const tx = round[next++];
        this.fanoutAcct.register({ idHex: tx.idHex, size: tx.size, submitTimeMs: now, targets: [target], inputs: tx.body.inputs.map(inputKey), kind: 'fanout' });
        this.followLink.outbox.push(tx.id, tx.bytes, tx.idHex);
        inflight += tx.size;
      }
      if (now > deadline) {
        const hint = this.follower.unresolvedEbs > 0 ? ` (${this.follower.unresolvedEbs} certified EBs could not be fetched from ${target}: their txs are invisible to the generator)` : '';
        throw new GeneratorError(`fan-out not on chain within ${this.cfg.fanoutTimeoutS} s${hint}`);
      }
      await Promise.race([this.follower.waitChange(), sleep(500, this.opts.signal)]);
    }
  }

  // ---------------------------------------------------------------- benchmark

  private lastFresh: { inputs: Utxo[]; tx: Tx } | undefined;

  /** Build tx number i of the run; undefined when starved. */
  private build(i: number): { tx: Tx; targets: number[]; kind: string; inputs: Utxo[]; fresh: boolean } | undefined {
    const shape = this.workload.shape(i);
    const pp = this.genesis.protocolParams;
    const addr = this.signer.address;
    if (shape.kind === 'twin' && this.lastFresh) {
      const { inputs, tx: orig } = this.lastFresh;
      // same inputs, one more lovelace of fee: a different, conflicting tx
      const outputs = orig.body.outputs.slice(0, this.cfg.outputs - 1);
      const tx = buildTx({
        inputs: inputs.map((u) => ({ txId: u.txId, index: u.index, amount: u.amount })),
        outputs,
        fee: orig.body.fee + 1,
        changeAddress: addr,
        padToBytes: this.cfg.txSizeBytes,
        protocolParams: pp,
        signers: [this.signer],
      });
      this.releasable.delete(orig.idHex);
      return { tx, targets: shape.targets, kind: 'twin', inputs, fresh: false };
    }
    const inputs = this.pool.take(this.cfg.inputs);
    if (!inputs) return undefined;
    const sum = inputs.reduce((s, u) => s + u.amount, 0);
    const each = Math.max(1, Math.floor((sum - this.txFee - this.cfg.outputs * 2) / this.cfg.outputs));
    const outputs: TxOut[] = Array.from({ length: this.cfg.outputs - 1 }, () => ({ address: addr, amount: each }));
    try {
      const tx = buildTx({
        inputs: inputs.map((u) => ({ txId: u.txId, index: u.index, amount: u.amount })),
        outputs,
        changeAddress: addr,
        padToBytes: this.cfg.txSizeBytes,
        protocolParams: pp,
        signers: [this.signer],
      });
      return { tx, targets: shape.targets, kind: this.workload.kind, inputs, fresh: true };
    } catch (e) {
      if (!(e instanceof TxBuildError)) throw e;
      for (const u of inputs) this.pool.retire(u.key);
      this.log('warn', 'cannot build a tx from these inputs; dropped them', { error: e.message });
      return undefined;
    }
  }

  private emit(i: number, nowMs: number): boolean {
    const b = this.build(i);
    if (!b) {
      this.starved++;
      return false;
    }
    const { tx } = b;
    if (b.fresh) this.lastFresh = { inputs: b.inputs, tx };
    const names = b.targets.map((t) => this.links[t].target.name);
    this.acct.register({ idHex: tx.idHex, size: tx.size, submitTimeMs: nowMs, targets: names, inputs: tx.body.inputs.map(inputKey), kind: b.kind });
    if (b.fresh && names.length === 1) this.releasable.set(tx.idHex, b.inputs);
    for (const t of b.targets) {
      this.links[t].outbox.push(tx.id, tx.bytes, tx.idHex);
      this.metrics.submitted.inc({ target: this.links[t].target.name });
    }
    if (this.benchStartMs !== undefined) {
      const sec = Math.floor((nowMs - this.benchStartMs) / 1000);
      while (this.emitCounts.length <= sec) this.emitCounts.push(0);
      this.emitCounts[sec]!++;
    }
    this.emitted++;
    this.lastEmitMs = nowMs;
    this.recentEmits.push(nowMs);
    if (this.recentEmits.length > 4096 && this.recentEmits[0]! < nowMs - 1000) this.trimRecent(nowMs);
    this.bytesSubmitted += tx.size;
    this.submissions?.write(`{"id":"${tx.idHex}","time_s":${nowMs / 1000},"target":"${names[0]}"}\n`);
    return true;
  }

  async benchmark(): Promise<void> {
    const cfg = this.cfg;
    fs.mkdirSync(cfg.outDir, { recursive: true });
    this.submissions = fs.createWriteStream(path.join(cfg.outDir, 'submissions.jsonl'), { flags: 'a' }); // a restarted generator appends
    this.feeding = true;
    const arrivals = this.workload.arrivals;
    const start = Date.now();
    this.benchStartMs = start;
    let i = 0;
    const durationS = cfg.durationS ?? Infinity;
    const count = cfg.count ?? Infinity;
    while (!this.opts.signal?.aborted) {
      const now = Date.now();
      const tS = Math.min((now - start) / 1000, durationS);
      this.metrics.targetTps.set(arrivals.profile.rateAt(tS));
      let n = arrivals.take(tS);
      while (n-- > 0 && i < count) {
        this.emit(i, now);
        i++;
      }
      if (tS >= durationS || i >= count) break;
      // sleep to the next tick, aligned to the phase start
      const next = start + Math.ceil((Date.now() - start + 1) / cfg.tickMs) * cfg.tickMs;
      await sleep(Math.max(0, next - Date.now()), this.opts.signal);
    }
    this.benchEndMs = Math.min(Date.now(), durationS === Infinity ? Date.now() : start + durationS * 1000);
    if (i >= count && this.lastEmitMs !== undefined) this.benchEndMs = Math.max(this.lastEmitMs, start + 1);
    await new Promise<void>((r) => this.submissions!.end(r));
    this.submissions = undefined;
  }

  async drain(): Promise<void> {
    const end = Date.now() + this.cfg.drainS * 1000;
    while (!this.opts.signal?.aborted && Date.now() < end && this.acct.pendingCount() > 0) {
      await Promise.race([this.follower.waitChange(), sleep(Math.min(250, Math.max(0, end - Date.now())), this.opts.signal)]);
    }
  }

  // ---------------------------------------------------------------- reporting

  backlog(): number {
    return this.links.reduce((s, l) => s + l.outbox.backlog, 0);
  }

  progress(): GeneratorProgress {
    const c = this.acct.counts();
    const now = Date.now();
    this.trimRecent(now);
    const last = this.recentEmits.length;
    const tS = this.benchStartMs !== undefined ? (now - this.benchStartMs) / 1000 : 0;
    return {
      phase: this.phase,
      phaseS: round((now - this.phaseStartMs) / 1000, 1)!,
      submitted: c.submitted,
      accepted: c.accepted,
      rejected: c.rejected,
      included: c.included,
      pending: c.pending,
      backlog: this.backlog(),
      rateTps: last,
      targetTps: this.phase === 'benchmark' && this.workload ? round(this.workload.arrivals.profile.rateAt(tS), 3)! : 0,
      utxosAvailable: this.pool.available,
    };
  }

  tickMetrics(p: GeneratorProgress): void {
    this.metrics.rateTps.set(p.rateTps);
    this.metrics.included.set(p.included);
    this.metrics.pending.set(p.pending);
    for (const l of this.links) this.metrics.backlog.set({ target: l.target.name }, l.outbox.backlog);
  }

  summary(final: boolean, error?: string): GeneratorSummary {
    const c = this.acct.counts();
    const start = this.benchStartMs;
    const end = this.benchEndMs ?? (start !== undefined ? Date.now() : undefined);
    const durationS = start !== undefined && end !== undefined ? Math.max(0, (end - start) / 1000) : 0;
    const profile = this.workload?.arrivals.profile;
    const rf =
      start !== undefined && profile
        ? rateFiguresFromCounts(this.emitCounts, this.emitted, durationS, (t) => profile.cumulative(t), (t) => profile.rateAt(t), this.cfg.rampUpS)
        : { rateSeries: [], targetSeries: [], rateErrorPct: null, rateCoV: null };
    const lat = this.acct.latencyFigures();
    const includedBytes = this.acct.includedBytes();
    const per = (x: number) => (durationS > 0 ? round(x / durationS, 3)! : 0);
    const tip = this.follower.tip;
    const s: GeneratorSummary = {
      version: 1,
      name: this.cfg.name,
      final,
      aborted: this.aborted,
      ...(this.stoppedIn ? { stoppedIn: this.stoppedIn } : {}),
      workload: this.cfg.workload.kind,
      targets: this.cfg.targets.map((t) => t.name),
      followTarget: this.followLink.target.name,
      startedAt: start !== undefined ? new Date(start).toISOString() : null,
      endedAt: end !== undefined ? new Date(end).toISOString() : null,
      durationS: round(durationS, 3)!,
      targetTps: round(this.tps, 3)!,
      txSizeBytes: c.submitted ? round(this.bytesSubmitted / c.submitted, 1)! : 0,
      inputs: this.cfg.inputs,
      outputs: this.cfg.outputs,
      submitted: c.submitted,
      accepted: c.accepted,
      rejected: c.rejected,
      rejectedByReason: c.rejectedByReason,
      included: c.included,
      pending: c.pending,
      verdicts: { accepted: this.acct.verdictCounts.accepted, rejected: { ...this.acct.verdictCounts.rejected } },
      backlog: this.backlog(),
      starved: this.starved,
      dropped: this.workload?.arrivals.dropped ?? 0,
      effectiveTps: per(c.submitted),
      includedTps: per(c.included),
      txkbPerS: per(this.bytesSubmitted / 1000),
      rateSeries: rf.rateSeries,
      targetSeries: rf.targetSeries,
      rateErrorPct: rf.rateErrorPct,
      rateCoV: rf.rateCoV,
      latency: {
        inclusionP50S: round(lat.at(0.5), 3),
        inclusionP95S: round(lat.at(0.95), 3),
        inclusionMeanS: round(lat.mean, 3),
        inclusionMaxS: round(lat.max, 3),
        count: lat.n,
      },
      throughput: {
        txSubmitted: c.submitted,
        txIncluded: c.included,
        txRejected: c.rejected,
        txPending: c.pending,
        txkbPerS: durationS > 0 ? round(includedBytes / 1000 / durationS, 3) : null,
        tps: durationS > 0 ? round(c.included / durationS, 3) : null,
      },
      fanout: { ...this.fanout },
      phases: { ...this.phaseS },
      chain: {
        blocksSeen: this.follower.blocksSeen,
        rollbacks: this.follower.rollbacks,
        tipBlockNo: this.follower.tipBlockNo,
        tipSlot: tip?.slot ?? null,
        certifiedBlocks: this.certifiedBlocks,
        ebsResolved: this.follower.resolvedEbs,
        ebsUnresolved: this.follower.unresolvedEbs,
      },
    };
    if (error) s.error = error;
    return s;
  }

  writeSummary(s: GeneratorSummary): void {
    fs.mkdirSync(path.dirname(this.cfg.summaryFile), { recursive: true });
    writeJsonAtomic(this.cfg.summaryFile, s);
  }

  /** Inputs of our txs still pending: a restarted generator must not spend them again. */
  writePendingInputs(): void {
    const keys: string[] = [];
    for (const acct of [this.acct, this.fanoutAcct]) for (const r of acct.records()) if (acct.state(r) === 'pending') keys.push(...r.inputs);
    for (const k of this.excluded) if (this.wallet.get(k)) keys.push(k);
    writeJsonAtomic(path.join(this.cfg.outDir, PENDING_INPUTS_FILE), { written: new Date().toISOString(), inputs: [...new Set(keys)] });
  }

  /** Keys a previous run left pending (see writePendingInputs). */
  readonly excluded = new Set<string>();

  readPendingInputs(): void {
    try {
      const j = JSON.parse(fs.readFileSync(path.join(this.cfg.outDir, PENDING_INPUTS_FILE), 'utf8')) as { inputs?: unknown };
      if (Array.isArray(j.inputs)) for (const k of j.inputs) if (typeof k === 'string') this.excluded.add(k);
    } catch {
      return;
    }
    for (const k of this.excluded) this.pool.exclude(k);
    if (this.excluded.size) this.log('info', 'inputs a previous run left pending are not reused', { count: this.excluded.size });
  }

  private trimRecent(now: number): void {
    let k = 0;
    while (k < this.recentEmits.length && this.recentEmits[k]! <= now - 1000) k++;
    if (k > 0) this.recentEmits.splice(0, k);
  }

  private txsFile(): string {
    return path.join(this.cfg.outDir, 'txs.jsonl');
  }

  /** A settled tx: its final line is buffered for txs.jsonl, then it leaves memory. */
  private settled(rec: TxRecord, acct: Accounting): void {
    this.txsBuf.push(JSON.stringify(txLine(acct, rec)));
    if (this.txsBuf.length >= 2000) this.flushTxs();
  }

  /** Write buffered lines to txs.jsonl.partial (renamed to txs.jsonl by writeTxs at the end). */
  private flushTxs(): void {
    if (this.txsDone) return;
    if (this.txsFd === undefined) {
      fs.mkdirSync(this.cfg.outDir, { recursive: true });
      this.txsFd = fs.openSync(`${this.txsFile()}.partial`, 'w');
    }
    if (this.txsBuf.length > 0) fs.writeSync(this.txsFd, this.txsBuf.join('\n') + '\n');
    this.txsBuf = [];
  }

  /** txs.jsonl: the settled txs streamed during the run, then every tx still open. Once. */
  writeTxs(): void {
    if (this.txsDone) return;
    for (const r of this.acct.records()) {
      this.txsBuf.push(JSON.stringify(txLine(this.acct, r)));
      if (this.txsBuf.length >= 2000) this.flushTxs();
    }
    this.flushTxs();
    fs.closeSync(this.txsFd!);
    this.txsFd = undefined;
    this.txsDone = true;
    fs.renameSync(`${this.txsFile()}.partial`, this.txsFile());
  }

  close(): void {
    this.follower.stop();
    for (const l of this.links) l.close();
  }
}

/**
 * Run the generator to the end: connect, import funds, fan out, benchmark, drain; writes
 * `outDir`/summary.json, txs.jsonl and submissions.jsonl, and resolves with the summary.
 * Aborting `signal` stops emission early (no drain) and still resolves with the summary
 * (`aborted: true`). Rejects with GeneratorConfigError (bad config / genesis / key) or
 * GeneratorError (infrastructure), after writing a summary with `error` when it got that far.
 */
export async function runGenerator(config: unknown, opts: RunGeneratorOptions = {}): Promise<GeneratorSummary> {
  const cfg = resolveGeneratorConfig(config, opts.baseDir);
  const gen = new Generator(cfg, opts);
  fs.mkdirSync(cfg.outDir, { recursive: true });
  let tpl: Tx;
  try {
    tpl = gen.template();
  } catch (e) {
    if (e instanceof TxBuildError) throw new GeneratorConfigError(`generator config: field txSizeBytes: ${e.message}`);
    throw e;
  }
  gen.tps = targetTps(cfg, tpl.size);
  gen.workload = makeWorkload(cfg.workload, { targets: cfg.targets.length, tps: gen.tps, rampUpS: cfg.rampUpS, seed: cfg.seed });
  gen.metrics.targetTps.set(0);
  let server: Awaited<ReturnType<typeof serveMetrics>> | undefined;
  let progressTimer: NodeJS.Timeout | undefined;
  let lastProvisional = Date.now();
  try {
    if (cfg.metrics) {
      server = await serveMetrics(gen.metrics.registry, cfg.metrics.host, cfg.metrics.port);
      gen.log('info', 'metrics', { url: `${server.url}/metrics` });
    }
    progressTimer = setInterval(() => {
      const p = gen.progress();
      gen.tickMetrics(p);
      opts.onProgress?.(p);
      if (gen.phase === 'benchmark' || gen.phase === 'drain') {
        if (Date.now() - lastProvisional >= 10_000) {
          lastProvisional = Date.now();
          try {
            gen.writeSummary(gen.summary(false));
          } catch {
            /* best effort */
          }
        }
      }
    }, cfg.progressIntervalS * 1000);
    let stoppedIn: GeneratorPhase | undefined;
    if (opts.signal?.aborted) stoppedIn = gen.phase;
    else opts.signal?.addEventListener('abort', () => (stoppedIn = gen.phase), { once: true });
    gen.readPendingInputs();
    gen.setPhase('connect');
    await gen.connectAll();
    if (!opts.signal?.aborted) {
      gen.setPhase('import');
      await gen.importFunds();
    }
    if (!opts.signal?.aborted) {
      gen.setPhase('fanout');
      const f0 = Date.now();
      await gen.fanOut();
      gen.fanout.durationS = round((Date.now() - f0) / 1000, 3)!;
    }
    if (!opts.signal?.aborted && !cfg.enabled) {
      // prepared; submitting nothing until stopped
      gen.setPhase('idle');
      await new Promise<void>((r) => opts.signal?.addEventListener('abort', () => r(), { once: true }));
    } else if (!opts.signal?.aborted) {
      gen.setPhase('benchmark');
      await gen.benchmark();
      if (!opts.signal?.aborted) {
        gen.setPhase('drain');
        await gen.drain();
      }
    }
    // A stop during the drain cuts only the wait for inclusion: the load window ran in full, so
    // that is not an abort (soak-1h's summaries said `aborted: true` for a full hour of load).
    gen.stoppedIn = stoppedIn;
    // (nor is a stop of a generator that was only prepared, `enabled: false`: that is its end)
    gen.aborted = stoppedIn !== undefined && stoppedIn !== 'drain' && stoppedIn !== 'idle';
    gen.setPhase('done');
    const p = gen.progress();
    gen.tickMetrics(p);
    opts.onProgress?.(p);
    const s = gen.summary(true);
    gen.writeTxs();
    gen.writePendingInputs();
    gen.writeSummary(s);
    gen.log('info', 'done', { submitted: s.submitted, included: s.included, rejected: s.rejected, pending: s.pending, effectiveTps: s.effectiveTps, rateErrorPct: s.rateErrorPct });
    return s;
  } catch (e) {
    const msg = (e as Error).message;
    gen.log('error', 'generator failed', { error: msg });
    try {
      gen.writeTxs();
      gen.writePendingInputs();
      gen.writeSummary(gen.summary(true, msg));
    } catch {
      /* keep the original error */
    }
    throw e;
  } finally {
    if (progressTimer) clearInterval(progressTimer);
    gen.close();
    await server?.close();
  }
}
