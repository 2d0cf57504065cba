import type { LeiosNode } from './node.ts';
import type { PeerManager } from './network/peers.ts';
import { startAdminServer } from './admin/server.ts';
import { AdminError, type AdminHooks } from './admin/hooks.ts';
import { epochOf } from './consensus/nonce.ts';


// The node side of the admin API: what each endpoint reads or changes.

export function adminHooks(node: LeiosNode, pm: PeerManager): AdminHooks {
  return {
    getHealth: () => ({ ok: true, name: node.name, runId: node.config.runId ?? null, slot: node.clock.currentSlot(), following: node.following, stoppedReason: node.stoppedReason ?? null }),
    getTip: () => {
      const t = node.tip();
      const era = node.eraAt(epochOf(Math.max(0, node.clock.currentSlot()), node.genesis));
      return {
        slot: t?.slot ?? 0,
        hash: t?.key ?? null,
        blockNo: t?.blockNo ?? 0,
        era: era.era,
        protocolVersion: t?.data.header.protocolVersion ?? era.protocolVersion,
        following: node.following,
      };
    },
    getPeers: () =>
      pm.peers().map((p) => {
        const cfg = node.config.peers.find((c) => c.name === p.name);
        return { ...p, host: cfg?.host, port: cfg?.port, link: p.shape };
      }),
    setLink: (peer, patch) => {
      if (!node.config.peers.some((p) => p.name === peer) && !pm.peer(peer)) throw new AdminError(404, `unknown peer "${peer}"`);
      const { bandwidthBps, ...rest } = patch;
      const shape: Record<string, unknown> = { ...rest };
      if (bandwidthBps !== undefined) shape.bandwidthBps = bandwidthBps === null ? undefined : bandwidthBps;
      return pm.setShape(peer, shape);
    },
    setClockOffset: (offsetMs) => {
      node.clock.offsetMs = offsetMs;
    },
    setAdversary: (behaviour, enabled, params) => node.setAdversary(behaviour, enabled, params),
    getAdversary: () => node.adversary.active,
    submitTx: (tx) => {
      const [reason] = node.submitTxs([tx]);
      const id = node.txIdHex(tx);
      return reason === null ? { accepted: true, id: id! } : { accepted: false, id, reason };
    },
    txStatus: (id) => {
      if (node.mempool.has(id)) return { status: 'mempool' };
      const inc = node.included.get(id);
      return inc ? { status: 'included', ...inc } : { status: 'unknown' };
    },
    shutdown: () => node.onShutdownRequest?.(),
  };
}

export async function startAdmin(node: LeiosNode, pm: PeerManager): Promise<{ url: string; close(): Promise<void> }> {
  const c = node.config.admin;
  return startAdminServer({
    host: c.host,
    port: c.port,
    token: c.token,
    hooks: adminHooks(node, pm),
    registry: node.metrics.registry,
    extraRoutes: (app) => {
      // KES: the pool's KES period and opcert (open), and the hot-key rotation (token).
      app.get('/kes', async (_req, reply) => {
        try {
          return node.kesStatus();
        } catch (e) {
          if (e instanceof AdminError) return reply.status(e.statusCode).send({ statusCode: e.statusCode, error: 'Not Found', message: e.message });
          throw e;
        }
      });
      app.post('/kes/rotate', async (req, reply) => {
        if (req.headers.authorization !== `Bearer ${c.token}`) return reply.status(401).send({ statusCode: 401, error: 'Unauthorized', message: 'bearer token required' });
        try {
          return reply.status(200).send({ rotated: true, ...node.rotateKes(req.body) });
        } catch (e) {
          if (e instanceof AdminError) return reply.status(e.statusCode).send({ statusCode: e.statusCode, error: e.statusCode === 404 ? 'Not Found' : 'Bad Request', message: e.message });
          throw e;
        }
      });
      // Pool operator actions: propose or endorse a hard-fork update, signed with this pool's cold key.
      app.post<{ Body: { kind?: string; era?: string; protocolVersion?: number; epoch?: number; proposalId?: string } }>('/update', async (req, reply) => {
        if (req.headers.authorization !== `Bearer ${c.token}`) return reply.status(401).send({ statusCode: 401, error: 'Unauthorized', message: 'bearer token required' });
        const b = req.body ?? {};
        const bad = (field: string, message: string) => reply.status(400).send({ statusCode: 400, error: 'Bad Request', message, field });
        if (b.kind !== 'propose' && b.kind !== 'endorse') return bad('body.kind', 'body.kind must be "propose" or "endorse"');
        if (b.kind === 'propose') {
          if (b.era !== 'praos' && b.era !== 'leios') return bad('body.era', 'body.era must be "praos" or "leios"');
          if (!Number.isInteger(b.protocolVersion) || b.protocolVersion! < 1) return bad('body.protocolVersion', 'body.protocolVersion must be an integer ≥ 1');
          if (!Number.isInteger(b.epoch) || b.epoch! < 0) return bad('body.epoch', 'body.epoch must be an integer ≥ 0');
        } else if (typeof b.proposalId !== 'string' || !/^[0-9a-f]{64}$/.test(b.proposalId)) return bad('body.proposalId', 'body.proposalId must be 64 hex characters');
        const r = node.governanceTx(b as Parameters<LeiosNode['governanceTx']>[0]);
        if ('error' in r) return reply.status(422).send({ accepted: false, reason: r.error });
        return reply.status(202).send({ accepted: true, tx: r.tx, proposalId: r.proposalId });
      });
    },
  });
}
