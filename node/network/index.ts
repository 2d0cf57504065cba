// leiosnet node network layer — what the core wires in.
//
// One TCP connection per peer pair carries every mini-protocol through a multiplexer (`Mux`)
// with priority scheduling (Praos > tx submission > fresh Leios > stale Leios; freshest slot
// first inside a Leios class) and link shaping in the transport (latency, bandwidth, loss,
// down). Any protocol violation closes that one connection with a reason; nothing throws into
// the process.
//
// Typical wiring in the core:
//
//   const net = new PeerManager({
//     name: cfg.name, networkMagic, versions: release supports Leios ? [1, 2] : [1],
//     listen: cfg.listen, peers: cfg.peers,
//     extraProtocols: [{ id: 16, name: 'leios-notify', priority: 'leios-fresh', maxMessageBytes: 1 << 20, minVersion: 2 }],
//     onBytes: (proto, dir, n, peer) => (dir === 'sent' ? sentCounter : recvCounter).inc({ protocol: proto, peer: peer ?? 'unknown' }, n),
//     log: (level, msg, fields) => logger[level](fields ?? {}, msg),
//   });
//   net.on('peer-up', (peer) => {
//     new ChainSyncServer(peer, chainProvider);            // serve our chain
//     new BlockFetchServer(peer, { getBlock });
//     new TxSubmissionServer(peer, mempoolSink);           // pull txs from the peer
//     new TxSubmissionClient(peer, mempoolReader(peer));   // offer ours (not to tx-generators)
//     const cs = new ChainSyncClient(peer, { rollForward, rollBackward });
//     const bf = new BlockFetchClient(peer);
//     void cs.start(knownPoints).catch(() => {});          // rejected if the peer drops
//     if (peer.hasProtocol(16)) { ... peer.mux.handle(16, 'responder', m => ...); peer.mux.send(16, 'initiator', msg, { slot }) }
//   });
//   net.on('peer-down', (peer, reason) => { ... });
//   await net.start();            // listen + dial; address() gives the bound port
//   net.setShape('node-2', { latencyMs: 50, bandwidthBps: 1e6, loss: 0, down: false });  // admin API
//   net.peers();                  // GET /peers
//   await net.close();
//
// Exported API (see each file's header for the wire format):
//
// types.ts
//   type Point = { slot: number; hash: Uint8Array } | null        (null = origin)
//   interface Tip { point: Point; blockNo: number }
//   class ProtocolError extends Error      throw it from a handler/provider/callback to drop the peer
//   type Role = 'initiator' | 'responder'
//   type PriorityClass = 'praos' | 'txsub' | 'leios-fresh' | 'leios-stale'
//   interface ProtocolSpec { id; name; priority: PriorityClass; maxMessageBytes; minVersion? }
//   PROTOCOL = { handshake: 0, chainSync: 2, blockFetch: 3, txSubmission: 4, keepAlive: 8, leiosBase: 16 }
//   VERSION_PRAOS = 1, VERSION_LEIOS = 2, BUILTIN_PROTOCOLS
//   encodeCbor(v), decodeCbor(bytes), encodePoint/decodePoint, encodeTip/decodeTip, pointEqual,
//   expectArray/expectUint/expectBytes/expectBool/expectString/messageTag (validators that
//   throw ProtocolError, for the core's own Leios codecs)
//
// mux.ts — class Mux (one per connection; `peer.mux`)
//   register(spec: ProtocolSpec)                                  (PeerManager does this per version)
//   handle(protocolId, role, (msg: unknown) => void | Promise<void>): () => void
//       messages for our `role`; arriving before a handler is attached they are buffered
//   send(protocolId, role, message: unknown, opts?: { priority?: PriorityClass; slot?: number }): boolean
//   waitForSpace(protocolId, role, maxQueuedBytes): Promise<void>;  queuedBytes(protocolId, role)
//   shape / setShape(shape);  getStats(): { bytesSent, bytesReceived, sent{proto}, received{proto} }
//   close(reason); end(reason) (graceful); closed; closeReason; onClose(cb); guard(promise, name)
//   type OnBytes = (protocolName: string, dir: 'sent' | 'received', n: number, peer: string | undefined) => void
//       n = wire bytes of one segment, 7-byte frame header included
//   Decoded messages are what cbor-x yields: byte strings arrive as Buffer (a Uint8Array);
//   the expect* validators hand out plain Uint8Array views.
//
// frame.ts — encodeFrame(frame), FrameDecoder (feed/next/push), HEADER_SIZE = 7, SEGMENT_SIZE = 64 KiB
//
// shaper.ts — Shaper (inside the Mux); LinkShape { latencyMs, bandwidthBps?, loss, down };
//   DEFAULT_SHAPE, normaliseShape(), retransmitTimeoutMs(latency) = max(200, 3 × latency)
//
// peers.ts
//   class PeerManager extends EventEmitter<{ 'peer-up': [Peer]; 'peer-down': [Peer, reason] }>
//     new PeerManager(opts: PeerManagerOptions)
//       { name, networkMagic, versions, listen?, peers?: PeerConfig[], defaultShape?,
//         extraProtocols?, maxMessageBytes?: {[protocolName]: n}, partialTimeoutMs?,
//         handshakeTimeoutMs? (5 s), keepAlive?: { intervalMs? (10 s), timeoutMs? (30 s) } | false,
//         backoff?: { minMs? (250), maxMs? (5000) }, maxInbound? (256), onBytes?, log? }
//     start(): Promise<{host, port} | undefined>;  address()
//     setShape(peerName, shape): LinkShape;  shapeFor(peerName)
//     addPeer(config: PeerConfig); removePeer(name)                (run-time topology changes)
//     peer(name): Peer | undefined;  connectedPeers(): Peer[]
//     peers(): PeerInfo[]  { name, connected, address, direction, version, shape, configured,
//                             connectedSince, bytesSent, bytesReceived, rttMs }
//     close(): Promise<void>
//   class Peer { name, version, direction, remoteAddress, remotePort, mux, connectedAt,
//                configured, shape, setShape(), hasProtocol(id), closed, close(reason),
//                onClose(cb), rttMs, info() }
//   connectPeer({host, port}, ConnectionOptions & { shape? }): Promise<Peer>
//       a client that is not a node (the tx-generator): dial, handshake, keepalive
//   protocolsForVersion(version, extra?, overrides?)
//
// handshake.ts — handshakeInitiator/handshakeResponder (used by peers.ts), HandshakeError,
//   highestCommonVersion(ours, theirs)
// keepalive.ts — startKeepAlive(mux, { intervalMs, timeoutMs }) (used by peers.ts)
//
// chainsync.ts
//   interface ChainSyncProvider { tip(); intersect(points); next(after); onTipChange(cb) }
//   class ChainSyncServer(peer, provider, { maxPipelined? })           stop()
//   class ChainSyncClient(peer, { rollForward(header, tip, point), rollBackward(point, tip),
//                                 awaitReply?() }, { pipeline? (4), requestTimeoutMs? (30 s) })
//     start(knownPoints): Promise<{ intersect: Point | undefined; tip }>;  stop();  tip
//     As in Cardano the first reply after IntersectFound is RollBackward(intersection).
// blockfetch.ts
//   interface BlockFetchProvider { getBlock(point): Uint8Array | undefined | Promise<...> }
//   class BlockFetchServer(peer, provider, { maxPointsPerRequest?, maxQueuedRequests?, maxQueuedBytes? })
//   class BlockFetchClient(peer, { requestTimeoutMs?, maxBlockBytes? })
//     fetch(points): Promise<Uint8Array[]>  — blocks the peer has, in request order (missing
//     ones omitted); serialised per peer; rejects when the connection closes
// txsubmission.ts
//   interface TxSource { nextTxIds(max, blocking); getTxs(ids); onResults?(results); onAcknowledged?(idHexes) }
//   interface TxSink { txId(tx); known(id); submit(txs): (string | null)[] | Promise<...> }
//   class TxSubmissionServer(peer, sink, { window? (100), maxTxBytes?, maxBatchBytes?, requestTimeoutMs? })  stats
//   class TxSubmissionClient(peer, source, { maxWindow? })
//
// Leios mini-protocols (ids ≥ 16) are the core's: declare them in `extraProtocols` with a
// priority class and `minVersion: 2`; they are registered on connections that negotiated
// version 2 (`peer.hasProtocol(id)`), and a peer sending them on version 1 is dropped.

export * from './types.ts';
export { encodeFrame, FrameDecoder, HEADER_SIZE, SEGMENT_SIZE, type Frame, type HeaderCheck } from './frame.ts';
export { Mux, muxOf, type MuxCarrier, type MuxOptions, type MuxStats, type SendOptions, type MessageHandler, type OnBytes, type ByteDirection } from './mux.ts';
export { Shaper, DEFAULT_SHAPE, normaliseShape, retransmitTimeoutMs, type LinkShape } from './shaper.ts';
export { HandshakeError, handshakeInitiator, handshakeResponder, highestCommonVersion, type HandshakeParams, type HandshakeResult } from './handshake.ts';
export { startKeepAlive, type KeepAlive, type KeepAliveOptions } from './keepalive.ts';
export {
  PeerManager,
  Peer,
  connectPeer,
  protocolsForVersion,
  type PeerInfo,
  type PeerManagerOptions,
  type ConnectionOptions,
  type Direction,
  type NetLogger,
  type NetLogLevel,
  type PeerManagerEvents,
} from './peers.ts';
export {
  ChainSyncServer,
  ChainSyncClient,
  MAX_INTERSECT_POINTS,
  type ChainSyncProvider,
  type ChainSyncStep,
  type ChainSyncClientHandlers,
  type ChainSyncClientOptions,
  type ChainSyncServerOptions,
} from './chainsync.ts';
export { BlockFetchServer, BlockFetchClient, type BlockFetchProvider, type BlockFetchServerOptions, type BlockFetchClientOptions } from './blockfetch.ts';
export {
  TxSubmissionServer,
  TxSubmissionClient,
  DEFAULT_TX_WINDOW,
  type TxSource,
  type TxSink,
  type TxIdAndSize,
  type TxResult,
  type TxSubmissionServerOptions,
  type TxSubmissionClientOptions,
  type TxSubmissionStats,
} from './txsubmission.ts';
