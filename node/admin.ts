import type { LeiosNode } from './node.ts';
import type { PeerManager } from './network/peers.ts';

// Temporary until node/admin/server.ts lands.
export async function startAdmin(node: LeiosNode, pm: PeerManager): Promise<{ url: string; close(): Promise<void> }> {
  const { default: Fastify } = await import('fastify');
  const app = Fastify();
  app.get('/metrics', async (_q, r) => r.type('text/plain').send(await node.metrics.registry.metrics()));
  app.get('/health', async () => ({ ok: true, name: node.name }));
  app.get('/tip', async () => {
    const t = node.tip();
    return { slot: t?.slot ?? null, blockNo: t?.blockNo ?? 0, hash: t?.key ?? null };
  });
  app.get('/peers', async () => pm.peers());
  const c = node.config.admin;
  const url = await app.listen({ host: c.host, port: c.port });
  return { url, close: () => app.close() };
}
