import { ChainSyncClient, ChainSyncServer, type ChainSyncProvider, type Point, type Tip } from './network/chainsync.ts';
import { BlockFetchClient, BlockFetchServer } from './network/blockfetch.ts';
import { TxSubmissionClient, TxSubmissionServer } from './network/txsubmission.ts';
import type { Peer, PeerManager } from './network/peers.ts';
import { ProtocolError } from './network/types.ts';
import { bytesEqual, toHex } from './crypto/hash.ts';
import { LeiosNode, PeerFault } from './node.ts';
import { tryDecodeTx, type Tx } from './ledger/index.ts';

/** Txs decoded while their id was checked, so submission does not decode them again. */
const decodedTxs = new WeakMap<Uint8Array, Tx>();

function txIdOfBytes(b: Uint8Array): Uint8Array {
  const r = tryDecodeTx(b);
  if (!r.ok) return new Uint8Array(32);
  decodedTxs.set(b, r.tx);
  return r.tx.id;
}
import type { BlockInfo } from './chain/chain-state.ts';
import type { TreeNode } from './consensus/chain-selection.ts';
import { ebIsFresh } from './leios/rules.ts';
import { LeiosFetchClient, LeiosFetchServer, LeiosNotify, LEIOS_FETCH, LEIOS_NOTIFY, type PriorityFor } from './leios/diffusion.ts';

// Wires every connected peer to the node: ChainSync + BlockFetch both ways (headers first,
// bodies fetched from whoever announced them), TxSubmission both ways (we pull peers' txs
// into our mempool and offer ours).

export class Sync {
  private readonly node: LeiosNode;
  private readonly fetchers = new Map<string, BlockFetchClient>();
  /** Who announced a header whose body we still need. */
  private readonly announcers = new Map<string, Set<string>>();
  /** block key → peers that served a body not matching its header (not asked for it again, even after they reconnect) */
  private readonly badBodies = new Map<string, Set<string>>();
  private readonly inflight = new Set<string>();
  private readonly pm: PeerManager;
  private readonly notifiers = new Map<string, LeiosNotify>();
  private readonly ebFetchers = new Map<string, LeiosFetchClient>();
  private readonly ebAnnouncers = new Map<string, { slot: number; peers: Set<string> }>();
  private readonly ebInflight = new Set<string>();
  /** The connection whose clients are in the maps above, per peer name. */
  private readonly attached = new Map<string, Peer>();

  constructor(node: LeiosNode, pm: PeerManager) {
    this.node = node;
    this.pm = pm;
    pm.on('peer-up', (p) => this.attach(p));
    pm.on('peer-down', (p) => {
      // Only this connection's clients: a replacement connection may already be attached under the same name.
      if (this.attached.get(p.name) === p) {
        this.attached.delete(p.name);
        this.fetchers.delete(p.name);
        this.notifiers.delete(p.name);
        this.ebFetchers.delete(p.name);
      }
      this.node.metrics.peersConnected.set(pm.connectedPeers().length);
    });
    node.leios.on('invalid-vote', (from, reason) => {
      node.tracer.emit({ type: 'VoteRejected', sender: from, reason });
      this.pm.peer(from)?.close(reason);
    });
    node.onEbWanted = (hash, slot, from) => this.wantEb(hash, slot, from);
    // Adversary hooks (node/adversary/): whether and to whom an EB is offered, which votes go out.
    const adv = node.adversary;
    adv.attachNetwork({
      offerEb: (eb, peers) => {
        for (const [name, n] of this.notifiers) if ((!peers || peers.includes(name)) && adv.serves(name)) n.offer(eb.hash, eb.slot, eb.size);
      },
      peers: () => [...this.notifiers.keys()].sort(),
    });
    node.leios.on('eb-complete', (hash, slot, size) => {
      if (adv.any && !adv.ebOffer({ hash, hashHex: toHex(hash), slot, size, own: node.leios.get(hash)?.enc.eb.producer === adv.poolId })) return;
      for (const [name, n] of this.notifiers) if (!adv.any || adv.serves(name)) n.offer(hash, slot, size);
    });
    node.leios.on('votes', (votes, slot) => {
      const out = adv.any ? adv.votesOut(votes, slot) : votes;
      if (out.length === 0) return;
      for (const [name, n] of this.notifiers) if (!adv.any || adv.serves(name)) n.sendVotes(out, slot);
    });
  }

  /** Tx ids being fetched from some peer → until when the claim holds (ms). */
  private readonly txClaims = new Map<string, number>();

  /**
   * A tx announced by several peers at once is fetched from the first only: the others see it
   * as known while that fetch is in flight (up to 10 s; then any peer may deliver it), so each
   * tx crosses the wire, and is decoded, once per node rather than once per peer.
   */
  private claimTx(id: Uint8Array): boolean {
    const key = toHex(id);
    const now = Date.now();
    const until = this.txClaims.get(key);
    if (until !== undefined && until > now) return true;
    this.txClaims.set(key, now + 10_000);
    if (this.txClaims.size > 50_000) for (const [k, t] of this.txClaims) if (t <= now) this.txClaims.delete(k);
    return false;
  }

  /** Praos > fresh Leios > stale Leios: an EB older than its certification window is stale. */
  readonly priorityFor: PriorityFor = (slot) => (ebIsFresh(slot, this.node.clock.currentSlot(), this.node.genesis.leios) ? 'leios-fresh' : 'leios-stale');

  private wantEb(hash: Uint8Array, slot: number, from: string): void {
    const key = toHex(hash);
    if (this.node.leios.get(hash)?.complete) return;
    let a = this.ebAnnouncers.get(key);
    if (!a) this.ebAnnouncers.set(key, (a = { slot, peers: new Set() }));
    a.peers.add(from);
    this.pumpEb(hash, key);
  }

  /** Fetch an EB, then only the transactions we lack, from one announcer at a time. */
  private pumpEb(hash: Uint8Array, key: string): void {
    if (this.ebInflight.has(key)) return;
    const a = this.ebAnnouncers.get(key);
    if (!a) return;
    const who = [...a.peers].find((p) => this.ebFetchers.has(p));
    if (!who) return;
    const client = this.ebFetchers.get(who)!;
    this.ebInflight.add(key);
    const fail = (why: string, drop: boolean) => {
      this.ebInflight.delete(key);
      a.peers.delete(who);
      if (drop) this.pm.peer(who)?.close(why);
      this.pumpEb(hash, key);
    };
    (async () => {
      let missing: number[];
      const have = this.node.leios.get(hash);
      if (have) missing = have.txs.flatMap((t, i) => (t ? [] : [i]));
      else {
        const bytes = await client.fetchEb(hash, a.slot);
        if (!bytes) return fail('no EB', false);
        const r = this.node.leios.receiveEb(bytes, hash, a.slot, who);
        if (!Array.isArray(r)) return fail(r.error, true);
        missing = r;
      }
      if (missing.length) {
        const txs = await client.fetchTxs(hash, a.slot, missing);
        if (!txs) return fail('no EB txs', false);
        const err = await this.node.leios.receiveEbTxs(hash, missing, txs);
        if (err) return fail(err, true);
      }
      this.ebInflight.delete(key);
      this.ebAnnouncers.delete(key);
    })().catch((e) => fail(String(e), false));
  }

  /** The chain as served to one peer: nothing new while an adversary behaviour starves it (eclipse). */
  private providerFor(name: string): ChainSyncProvider {
    const adv = this.node.adversary;
    const p = this.provider;
    return {
      ...p,
      next: (after) => (adv.any && !adv.serves(name) ? undefined : p.next(after)),
      onRelay: (cb) => p.onRelay!((h) => (!adv.any || adv.serves(name) ? cb(h) : undefined)),
    };
  }

  readonly provider: ChainSyncProvider = {
    tip: (): Tip => {
      const t = this.node.tip();
      return { point: t ? { slot: t.slot, hash: t.data.hash } : null, blockNo: t ? t.blockNo : 0 };
    },
    intersect: (points: Point[]) => {
      for (const p of points) {
        if (p === null) return null;
        const n = this.node.chain.get(toHex(p.hash));
        if (n && n.slot === p.slot && this.node.chain.onChain(n.key)) return p;
      }
      return undefined;
    },
    next: (after: Point) => {
      const chain = this.node.chain;
      if (after === null) {
        const first = chain.atHeight(1);
        return first ? { kind: 'forward', header: first.data.headerBytes, point: { slot: first.slot, hash: first.data.hash } } : undefined;
      }
      const key = toHex(after.hash);
      if (chain.onChain(key)) {
        const cur = chain.get(key)!;
        const nx = chain.atHeight(cur.blockNo + 1);
        return nx ? { kind: 'forward', header: nx.data.headerBytes, point: { slot: nx.slot, hash: nx.data.hash } } : undefined;
      }
      // The client's pointer left our chain: back to the fork point.
      const anc = chain.tree.commonAncestor(key, chain.tip()?.key ?? null);
      const a = anc ? chain.get(anc)! : undefined;
      return { kind: 'backward', point: a ? { slot: a.slot, hash: a.data.hash } : null };
    },
    onTipChange: (cb) => this.node.onTipChange(cb),
    // Headers diffuse independently of chain selection: equivocation evidence to every peer.
    onRelay: (cb) => this.node.praos.onRelay(cb),
  };

  private attach(peer: Peer): void {
    const node = this.node;
    this.attached.set(peer.name, peer);
    node.metrics.peersConnected.set(this.pm.connectedPeers().length);
    new ChainSyncServer(peer, this.providerFor(peer.name));
    new BlockFetchServer(peer, {
      getBlock: (p) => {
        if (!p) return undefined;
        const n = node.chain.get(toHex(p.hash));
        const b = n?.data.block;
        if (b && node.adversary.any) return node.adversary.blockOut(b, n.data.poolId === node.adversary.poolId) ?? b.bytes;
        return b?.bytes;
      },
    });
    // Serve our mempool to the peer, and pull theirs.
    new TxSubmissionServer(peer, {
      txId: (tx) => txIdOfBytes(tx),
      known: (id) => node.mempool.has(id) || this.claimTx(id),
      submit: async (txs) => {
        const r = await node.submitPeerTxs(txs, decodedTxs);
        for (const t of txs) {
          const d = decodedTxs.get(t);
          if (d) this.txClaims.delete(d.idHex);
        }
        return r;
      },
    });
    if (peer.name.startsWith('txgen')) {
      // Clients only submit; they may follow certified EBs' transactions, so serve LeiosFetch.
      if (peer.hasProtocol(LEIOS_FETCH)) {
        const leios = node.leios;
        new LeiosFetchServer(peer, { getEb: (h) => (leios.get(h)?.complete ? leios.serveEb(h) : undefined), getEbTxs: (h, i) => leios.serveEbTxs(h, i) }, { priorityFor: this.priorityFor });
      }
      return;
    }
    let cursor = 0;
    new TxSubmissionClient(peer, {
      nextTxIds: async (max, blocking) => {
        for (;;) {
          const r = node.mempool.idsAfter(cursor, max);
          cursor = r.cursor;
          const txs = node.adversary.any ? (node.adversary.serves(peer.name) ? node.adversary.txIdsOut(peer.name, r.txs) : []) : r.txs;
          if (txs.length || !blocking || peer.closed) return txs.map((t) => ({ id: t.id, size: t.size }));
          await node.mempool.waitForTxsAfter(cursor);
        }
      },
      getTxs: (ids) => ids.map((id) => node.mempool.get(id)?.bytes ?? (node.adversary.any ? node.adversary.txBytes(toHex(id)) : undefined)).filter((b): b is Uint8Array => !!b),
    });
    if (peer.hasProtocol(LEIOS_NOTIFY)) {
      const leios = node.leios;
      this.notifiers.set(
        peer.name,
        new LeiosNotify(
          peer,
          {
            onOffer: (hash, slot) => this.wantEb(hash, slot, peer.name),
            onVotes: (votes) => {
              const err = leios.receiveVotes(votes, peer.name, node.clock.currentSlot());
              if (err) throw new ProtocolError(err);
            },
          },
          { priorityFor: this.priorityFor },
        ),
      );
      this.ebFetchers.set(peer.name, new LeiosFetchClient(peer, { priorityFor: this.priorityFor }));
      new LeiosFetchServer(
        peer,
        {
          getEb: (hash) => (node.adversary.any && !node.adversary.ebServe(toHex(hash), peer.name) ? undefined : leios.get(hash)?.complete ? leios.serveEb(hash) : undefined),
          getEbTxs: (hash, idx) => leios.serveEbTxs(hash, idx),
        },
        { priorityFor: this.priorityFor },
      );
      // Offer what we hold that is still fresh (a peer that just connected may need it).
      for (const e of leios.ebs.values()) {
        if (!e.complete || this.priorityFor(e.enc.eb.slot) !== 'leios-fresh') continue;
        if (node.adversary.any && (!node.adversary.ebServe(toHex(e.enc.hash), peer.name) || !node.adversary.serves(peer.name))) continue; // held back by an adversary behaviour
        this.notifiers.get(peer.name)!.offer(e.enc.hash, e.enc.eb.slot, e.enc.bytes.length);
      }
    }
    const fetcher = new BlockFetchClient(peer, { maxBlockBytes: 4 << 20 });
    this.fetchers.set(peer.name, fetcher);
    const client = new ChainSyncClient(peer, {
      rollForward: (header, _tip, point) => {
        let n: TreeNode<BlockInfo> | undefined;
        try {
          n = node.receiveHeader(header, peer.name);
        } catch (e) {
          if (e instanceof PeerFault) throw new ProtocolError(e.message);
          throw e;
        }
        if (point && n && !bytesEqual(point.hash, n.data.hash)) throw new ProtocolError('RollForward point does not match header');
        if (n) this.want(n, peer.name);
      },
      rollBackward: () => {},
      relayHeader: (header) => {
        try {
          node.receiveRelayedHeader(header, peer.name);
        } catch (e) {
          if (e instanceof PeerFault) throw new ProtocolError(e.message);
          throw e;
        }
      },
    });
    client.start(node.chain.samplePoints()).catch(() => {});
  }

  private want(n: TreeNode<BlockInfo>, from: string): void {
    if (this.badBodies.get(n.key)?.has(from)) return;
    let s = this.announcers.get(n.key);
    if (!s) this.announcers.set(n.key, (s = new Set()));
    s.add(from);
    this.pump(n);
  }

  /** Fetch a wanted body from one announcer at a time; on failure try the next. */
  private pump(n: TreeNode<BlockInfo>): void {
    if (this.inflight.has(n.key) || n.data.block) return;
    const who = [...(this.announcers.get(n.key) ?? [])].find((p) => this.fetchers.has(p));
    if (!who) return;
    this.inflight.add(n.key);
    this.fetchers
      .get(who)!
      .fetch([{ slot: n.slot, hash: n.data.hash }])
      .then((blocks) => {
        this.inflight.delete(n.key);
        for (const b of blocks) {
          try {
            this.node.receiveBlock(b, who);
          } catch (e) {
            if (!(e instanceof PeerFault)) throw e;
            let bad = this.badBodies.get(n.key);
            if (!bad) this.badBodies.set(n.key, (bad = new Set()));
            bad.add(who);
            if (this.badBodies.size > 1000) this.badBodies.delete(this.badBodies.keys().next().value!);
            this.pm.peer(who)?.close(e.message);
          }
        }
        if (n.data.block) this.announcers.delete(n.key);
        else {
          this.announcers.get(n.key)?.delete(who);
          this.pump(n);
        }
      })
      .catch(() => {
        this.inflight.delete(n.key);
        this.announcers.get(n.key)?.delete(who);
        this.pump(n);
      });
  }
}
