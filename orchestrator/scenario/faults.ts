// Faults on a running deployment: process faults through the NodeHandle (kill, stop, start,
// pause, resume, restart), network faults through the node admin API (link shape, partition,
// clock offset). Every fault returns its undo, so `forS` and the end of a scenario can revert it.

import { getPeers, setClockOffset, setLink, type LinkPatch, type LinkShapeView } from '../collect/admin.ts';
import { UserError } from '../errors.ts';
import type { Fault } from '../profile/schema.ts';
import type { Deployment, NodeHandle, RuntimeCapabilities } from '../runtime/runtime.ts';

export type Undo = () => Promise<void>;

function handle(dep: Deployment, name: string): NodeHandle {
  try {
    return dep.node(name);
  } catch {
    throw new UserError(`fault: unknown node "${name}"; nodes are ${dep.nodes().map((n) => n.name).join(', ')}`);
  }
}

/** The link shape patch that restores `before`. */
function restorePatch(before: LinkShapeView): LinkPatch {
  return { latencyMs: before.latencyMs, bandwidthBps: before.bandwidthBps ?? null, loss: before.loss, down: before.down };
}

/**
 * Apply `patch` to the links between `node` and each of `peers`, both directions; undo restores
 * each. A peer that is no node of the deployment (the tx-generator's connection, listed by the
 * node's /peers) has only the node's side: there is no admin API on the other end.
 */
async function shapeLinks(dep: Deployment, pairs: [string, string][], patch: LinkPatch): Promise<Undo> {
  const nodes = new Set(dep.nodes().map((n) => n.name));
  const restores: (() => Promise<unknown>)[] = [];
  const peersOf = new Map<string, Map<string, LinkShapeView>>();
  const linkOf = async (from: string, to: string) => {
    let m = peersOf.get(from);
    if (!m) {
      m = new Map((await getPeers(handle(dep, from).endpoints())).map((p) => [p.name, p.link]));
      peersOf.set(from, m);
    }
    return m.get(to);
  };
  for (const [a, b] of pairs) {
    for (const [from, to] of [
      [a, b],
      [b, a],
    ] as const) {
      if (!nodes.has(from)) continue; // not a node (the generator): nothing to shape on its side
      const before = await linkOf(from, to);
      if (!before) continue; // not peers in this direction
      const ep = handle(dep, from).endpoints();
      await setLink(ep, to, patch);
      restores.push(() => setLink(ep, to, restorePatch(before)));
    }
  }
  return async () => {
    for (const r of restores) await r().catch(() => {});
  };
}

/** Which runtime capability a fault needs, if any. */
export function faultNeeds(f: Fault): keyof RuntimeCapabilities | undefined {
  return f.kind === 'pause' || f.kind === 'resume' ? 'pause' : undefined;
}

/** Apply a fault now; resolves to its undo (a no-op where there is nothing to revert). */
export async function applyFault(dep: Deployment, f: Fault): Promise<Undo> {
  switch (f.kind) {
    case 'kill': {
      const h = handle(dep, f.node);
      await h.kill();
      return () => h.start();
    }
    case 'stop': {
      const h = handle(dep, f.node);
      await h.stop();
      return () => h.start();
    }
    case 'start': {
      await handle(dep, f.node).start();
      return async () => {};
    }
    case 'pause': {
      const h = handle(dep, f.node);
      await h.pause();
      return () => h.resume();
    }
    case 'resume': {
      await handle(dep, f.node).resume();
      return async () => {};
    }
    case 'restart': {
      const h = handle(dep, f.node);
      await h.stop();
      await h.start();
      return async () => {};
    }
    case 'link': {
      const node = handle(dep, f.node);
      // without `peer`: every node-to-node link of the node. Its /peers also lists clients such as
      // the tx-generator's connection; those are shaped only when named as `peer`.
      const nodes = new Set(dep.nodes().map((n) => n.name));
      const peers = f.peer ? [f.peer] : (await getPeers(node.endpoints())).map((p) => p.name).filter((p) => nodes.has(p));
      const patch: LinkPatch = {};
      if (f.latencyMs !== undefined) patch.latencyMs = f.latencyMs;
      if (f.bandwidthBps !== undefined) patch.bandwidthBps = f.bandwidthBps;
      if (f.loss !== undefined) patch.loss = f.loss;
      if (f.down !== undefined) patch.down = f.down;
      if (Object.keys(patch).length === 0) throw new UserError('fault link: set at least one of latencyMs, bandwidthBps, loss, down');
      return shapeLinks(
        dep,
        peers.map((p) => [f.node, p]),
        patch,
      );
    }
    case 'partition': {
      const groupOf = new Map<string, number>();
      f.groups.forEach((g, i) => g.forEach((n) => groupOf.set(n, i)));
      const pairs = new Map<string, [string, string]>();
      for (const [node, gi] of groupOf) {
        for (const p of await getPeers(handle(dep, node).endpoints())) {
          const gj = groupOf.get(p.name);
          // cut links that cross groups; nodes in no group stay connected to everyone
          if (gj === undefined || gj === gi) continue;
          const pair: [string, string] = node < p.name ? [node, p.name] : [p.name, node];
          pairs.set(pair.join('\0'), pair);
        }
      }
      return shapeLinks(dep, [...pairs.values()], { down: true });
    }
    case 'clock': {
      const ep = handle(dep, f.node).endpoints();
      await setClockOffset(ep, f.offsetMs);
      return () => setClockOffset(ep, 0);
    }
  }
}

/** Human description for events and the CLI. */
export function describeFault(f: Fault): string {
  const { kind, ...rest } = f as Fault & Record<string, unknown>;
  return `${kind} ${Object.entries(rest)
    .map(([k, v]) => `${k}=${Array.isArray(v) ? JSON.stringify(v) : String(v)}`)
    .join(' ')}`.trim();
}
