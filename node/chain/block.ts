import { cborDecode, cborEncode, asArray, asBytes, asUint, DecodeError, ownBytes } from '../codec/cbor.ts';
import { hash256 } from '../crypto/hash.ts';
import { kesSignatureSize } from '../crypto/kes.ts';
import type { OpCert } from '../crypto/opcert.ts';

// Ranking block (RB) wire format. A block is CBOR [headerBytes, bodyBytes]; the header hash
// (Blake2b-256 of headerBytes) is the block id. Headers travel alone in ChainSync, so they
// carry everything needed to validate them without the body.
//
// Header = CBOR [blockNo, slot, prevHash|null, issuerVkey, vrfVkey, vrfProof, bodyHash, bodySize,
//                protocolVersion, ebAnnounce|null, certified,
//                [opcert.hotVkey, opcert.counter, opcert.kesPeriod, opcert.sigma],   (signed)
//                kesSignature]                                                       (448 B)
// As in Babbage, the operational certificate is part of the signed header body, and the header
// is signed by the hot Sum6KES key at evolution kes_period(slot) − opcert.kesPeriod.

export interface EbAnnouncement {
  hash: Uint8Array; // EB id
  size: number; // EB reference bytes (S_EB accounting)
  txBytes: number; // sum of the referenced transactions' sizes (S_EB-tx accounting)
}

export interface HeaderBody {
  blockNo: number;
  slot: number;
  prevHash: Uint8Array | null; // null: first block after genesis
  issuerVkey: Uint8Array; // cold Ed25519 key (32)
  vrfVkey: Uint8Array; // VRF public key (32)
  vrfProof: Uint8Array; // 80 bytes; the VRF output is derived from it
  bodyHash: Uint8Array;
  bodySize: number;
  protocolVersion: number;
  /** Leios: the EB this RB announces (produced together with it). */
  ebAnnounce: EbAnnouncement | null;
  /** Leios: the body carries a certificate for the EB announced by the parent RB. */
  certified: boolean;
  /** Operational certificate: the cold key's delegation to the hot KES key. */
  opcert: OpCert;
}

export interface Header extends HeaderBody {
  signature: Uint8Array; // Sum6KES signature (448 B) over encodeHeaderBody, by opcert.hotVkey
}

export interface Body {
  txs: Uint8Array[]; // each a canonical tx encoding
  cert: Uint8Array | null; // encoded Leios certificate
}

export interface Block {
  header: Header;
  headerBytes: Uint8Array;
  hash: Uint8Array;
  body: Body;
  bodyBytes: Uint8Array;
  bytes: Uint8Array;
}

function headerBodyArray(h: HeaderBody): unknown[] {
  return [
    h.blockNo,
    h.slot,
    h.prevHash,
    h.issuerVkey,
    h.vrfVkey,
    h.vrfProof,
    h.bodyHash,
    h.bodySize,
    h.protocolVersion,
    h.ebAnnounce ? [h.ebAnnounce.hash, h.ebAnnounce.size, h.ebAnnounce.txBytes] : null,
    h.certified,
    [h.opcert.hotVkey, h.opcert.counter, h.opcert.kesPeriod, h.opcert.sigma],
  ];
}

/** The bytes the issuer signs. */
export function encodeHeaderBody(h: HeaderBody): Uint8Array {
  return cborEncode(headerBodyArray(h));
}

export function encodeHeader(h: Header): Uint8Array {
  return cborEncode([...headerBodyArray(h), h.signature]);
}

/**
 * Decode a header. Its byte fields are views into `bytes`, or into a copy of it when `bytes` is
 * a view into a larger buffer (a network message): headers live in the block tree for the whole
 * run, and a view would keep that whole buffer alive with them.
 */
export function decodeHeader(bytes: Uint8Array): Header {
  return decodeHeaderIn(ownBytes(bytes));
}

function decodeHeaderIn(bytes: Uint8Array): Header {
  const a = asArray(cborDecode(bytes), 'header', 13);
  const prev = a[2] === null ? null : asBytes(a[2], 'header.prevHash', 32);
  let eb: EbAnnouncement | null = null;
  if (a[9] !== null) {
    const e = asArray(a[9], 'header.ebAnnounce', 3);
    eb = { hash: asBytes(e[0], 'header.ebAnnounce.hash', 32), size: asUint(e[1], 'eb size'), txBytes: asUint(e[2], 'eb txBytes') };
  }
  if (typeof a[10] !== 'boolean') throw new DecodeError('header.certified');
  const oc = asArray(a[11], 'header.opcert', 4);
  return {
    blockNo: asUint(a[0], 'header.blockNo'),
    slot: asUint(a[1], 'header.slot'),
    prevHash: prev,
    issuerVkey: asBytes(a[3], 'header.issuerVkey', 32),
    vrfVkey: asBytes(a[4], 'header.vrfVkey', 32),
    vrfProof: asBytes(a[5], 'header.vrfProof', 80),
    bodyHash: asBytes(a[6], 'header.bodyHash', 32),
    bodySize: asUint(a[7], 'header.bodySize'),
    protocolVersion: asUint(a[8], 'header.protocolVersion'),
    ebAnnounce: eb,
    certified: a[10],
    opcert: {
      hotVkey: asBytes(oc[0], 'header.opcert.hotVkey', 32),
      counter: asUint(oc[1], 'header.opcert.counter'),
      kesPeriod: asUint(oc[2], 'header.opcert.kesPeriod'),
      sigma: asBytes(oc[3], 'header.opcert.sigma', 64),
    },
    signature: asBytes(a[12], 'header.signature', kesSignatureSize()),
  };
}

export function encodeBody(b: Body): Uint8Array {
  return cborEncode([b.txs, b.cert]);
}

export function decodeBody(bytes: Uint8Array): Body {
  const a = asArray(cborDecode(bytes), 'body', 2);
  const txs = asArray(a[0], 'body.txs').map((t, i) => asBytes(t, `body.txs[${i}]`));
  return { txs, cert: a[1] === null ? null : asBytes(a[1], 'body.cert') };
}

export function encodeBlock(headerBytes: Uint8Array, bodyBytes: Uint8Array): Uint8Array {
  return cborEncode([headerBytes, bodyBytes]);
}

/**
 * Decode a block. Every byte field is a view into `bytes`, or into a copy of it when `bytes` is a
 * view into a larger buffer (a BlockFetch message, cbor-x's shared encode buffer): see decodeHeader.
 */
export function decodeBlock(bytes: Uint8Array): Block {
  bytes = ownBytes(bytes);
  const a = asArray(cborDecode(bytes), 'block', 2);
  const headerBytes = asBytes(a[0], 'block.header');
  const bodyBytes = asBytes(a[1], 'block.body');
  return { header: decodeHeaderIn(headerBytes), headerBytes, hash: hash256(headerBytes), body: decodeBody(bodyBytes), bodyBytes, bytes };
}

/** Assemble and sign a block. */
export function makeBlock(h: HeaderBody, body: Body, sign: (msg: Uint8Array) => Uint8Array): Block {
  const bodyBytes = encodeBody(body);
  const hb: HeaderBody = { ...h, bodyHash: hash256(bodyBytes), bodySize: bodyBytes.length };
  const header: Header = { ...hb, signature: sign(encodeHeaderBody(hb)) };
  // cborEncode's results are views into cbor-x's shared encode buffer (MBs): a forged block lives
  // in the block tree, so it is re-read from its own copy of the bytes
  return decodeBlock(encodeBlock(encodeHeader(header), bodyBytes));
}
