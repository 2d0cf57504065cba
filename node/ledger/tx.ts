import { Encoder } from 'cbor-x';
import { ownBytes } from '../codec/cbor.ts';
import { hash224, hash256, toHex } from '../crypto/hash.ts';
import { ed25519PublicKey, ed25519Signer } from '../crypto/ed25519.ts';
import type { ProtocolParams } from '../genesis/schema.ts';

// Transactions: a UTxO tx format in canonical CBOR (definite-length arrays, shortest integer
// and length heads, no tags, no maps).
//
//   tx       = [body, [witness*]]
//   body     = [[input*], [output*], fee, padding: bstr, update / null]
//   input    = [txId: bstr .size 32, index: uint]
//   output   = [address: bstr .size 28, amount: uint]      address = Blake2b-224(owner vkey)
//   witness  = [vkey: bstr .size 32, sig: bstr .size 64]    sig = Ed25519(vkey, txId)
//   update   = [0, protocolVersion: uint, era: tstr, epoch: uint, poolId: tstr, sig: bstr]  ; propose
//            / [1, proposalId: bstr .size 32, poolId: tstr, sig: bstr]                     ; endorse
//
// txId = Blake2b-256(body bytes). Empty padding decodes as `padding: undefined`.
// Decoding is strict: any other shape, a non-canonical encoding, trailing bytes or an
// amount beyond 2^53 - 1 throws TxDecodeError (reason 'malformed').

export interface TxIn {
  readonly txId: Uint8Array;
  readonly index: number;
}

export interface TxOut {
  readonly address: Uint8Array;
  readonly amount: number;
}

/**
 * Hard-fork governance payload, carried by a tx and validated by the consensus core (the
 * ledger only checks the shape). `sig` covers `updateSigningBytes(update)`.
 */
export type TxUpdate =
  | {
      readonly kind: 'propose';
      readonly protocolVersion: number;
      readonly era: string;
      /** epoch from which the proposal takes effect once endorsed */
      readonly epoch: number;
      readonly poolId: string;
      readonly sig: Uint8Array;
    }
  | {
      readonly kind: 'endorse';
      /** proposalId(propose update) */
      readonly proposalId: Uint8Array;
      readonly poolId: string;
      readonly sig: Uint8Array;
    };

export interface TxBody {
  readonly inputs: readonly TxIn[];
  readonly outputs: readonly TxOut[];
  readonly fee: number;
  /** filler bytes, to reach a target tx size; empty is the same as absent */
  readonly padding?: Uint8Array;
  readonly update?: TxUpdate;
}

export interface Witness {
  readonly vkey: Uint8Array;
  readonly sig: Uint8Array;
}

/** The plain data of a transaction. */
export interface TxData {
  readonly body: TxBody;
  readonly witnesses: readonly Witness[];
}

/** A transaction with its encoding and id cached (what decodeTx, signTx and buildTx return). */
export interface Tx extends TxData {
  /** the full canonical encoding */
  readonly bytes: Uint8Array;
  /** the body's encoding, a view into `bytes` */
  readonly bodyBytes: Uint8Array;
  /** Blake2b-256 of bodyBytes */
  readonly id: Uint8Array;
  readonly idHex: string;
  /** bytes.length */
  readonly size: number;
}

export class TxDecodeError extends Error {
  readonly reason = 'malformed' as const;
  constructor(message: string) {
    super(`malformed tx: ${message}`);
    this.name = 'TxDecodeError';
  }
}

export class TxBuildError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TxBuildError';
  }
}

export const TX_ID_BYTES = 32;
export const ADDRESS_BYTES = 28;
export const VKEY_BYTES = 32;
export const SIG_BYTES = 64;
/** encoded size of one witness: 0x82, 0x58 0x20 vkey, 0x58 0x40 sig */
export const WITNESS_BYTES = 1 + 2 + VKEY_BYTES + 2 + SIG_BYTES;

const cbor = new Encoder({
  useRecords: false,
  tagUint8Array: false,
  int64AsNumber: true,
  mapsAsObjects: true,
  structuredClone: false,
  pack: false,
} as ConstructorParameters<typeof Encoder>[0]);

const EMPTY = new Uint8Array(0);
const U32 = 0x1_0000_0000;

/** Integers at or above 2^32 must be encoded as bigint: cbor-x writes such numbers as floats. */
function int(n: number): number | bigint {
  return n < U32 ? n : BigInt(n);
}

/** Length of a CBOR head (major type 0/2/3/4) for argument n. */
export function cborHeadLen(n: number): number {
  return n < 24 ? 1 : n < 0x100 ? 2 : n < 0x10000 ? 3 : n < U32 ? 5 : 9;
}

function updateToCbor(u: TxUpdate, withSig: boolean): unknown[] {
  const a: unknown[] =
    u.kind === 'propose'
      ? [0, int(u.protocolVersion), u.era, int(u.epoch), u.poolId]
      : [1, u.proposalId, u.poolId];
  if (withSig) a.push(u.sig);
  return a;
}

function bodyToCbor(b: TxBody): unknown[] {
  const ins = new Array(b.inputs.length);
  for (let i = 0; i < ins.length; i++) {
    const x = b.inputs[i];
    ins[i] = [x.txId, x.index];
  }
  const outs = new Array(b.outputs.length);
  for (let i = 0; i < outs.length; i++) {
    const o = b.outputs[i];
    outs[i] = [o.address, int(o.amount)];
  }
  return [ins, outs, int(b.fee), b.padding ?? EMPTY, b.update ? updateToCbor(b.update, true) : null];
}

function witnessesToCbor(ws: readonly Witness[]): unknown[] {
  const a = new Array(ws.length);
  for (let i = 0; i < ws.length; i++) a[i] = [ws[i].vkey, ws[i].sig];
  return a;
}

/** Canonical encoding of a tx body (the bytes whose hash is the tx id). */
export function encodeBody(body: TxBody): Uint8Array {
  checkBodyShape(body);
  return cbor.encode(bodyToCbor(body));
}

/** Exact encoded size of a body, computed without encoding (used by the builder's fee loop). */
export function bodyEncodedSize(body: TxBody): number {
  let n = 1 + cborHeadLen(body.inputs.length) + cborHeadLen(body.outputs.length);
  for (const i of body.inputs) n += 1 + 2 + TX_ID_BYTES + cborHeadLen(i.index);
  for (const o of body.outputs) n += 1 + 2 + ADDRESS_BYTES + cborHeadLen(o.amount);
  n += cborHeadLen(body.fee);
  const p = body.padding?.length ?? 0;
  n += cborHeadLen(p) + p;
  n += body.update ? cbor.encode(updateToCbor(body.update, true)).length : 1;
  return n;
}

/** Exact encoded size of a whole tx with `witnesses` witnesses, given its body size. */
export function txEncodedSize(bodySize: number, witnesses: number): number {
  return 1 + bodySize + cborHeadLen(witnesses) + witnesses * WITNESS_BYTES;
}

function concat3(head: number, a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(1 + a.length + b.length);
  out[0] = head;
  out.set(a, 1);
  out.set(b, 1 + a.length);
  return out;
}

/** Attach encoding and id to plain tx data. */
export function finalizeTx(data: TxData): Tx {
  const t = data as Partial<Tx>;
  if (t.bytes && t.id && t.bodyBytes && t.idHex) return data as Tx;
  const bodyBytes = encodeBody(data.body);
  checkWitnessShape(data.witnesses);
  return assemble(data.body, bodyBytes, data.witnesses, hash256(bodyBytes));
}

function assemble(body: TxBody, bodyBytes: Uint8Array, witnesses: readonly Witness[], id: Uint8Array): Tx {
  const bytes = concat3(0x82, bodyBytes, cbor.encode(witnessesToCbor(witnesses)));
  return {
    body,
    witnesses,
    bytes,
    bodyBytes: bytes.subarray(1, 1 + bodyBytes.length),
    id,
    idHex: toHex(id),
    size: bytes.length,
  };
}

/** Canonical encoding of a tx (cached bytes when it has them). */
export function encodeTx(tx: TxData): Uint8Array {
  const t = tx as Partial<Tx>;
  if (t.bytes) return t.bytes;
  return finalizeTx(tx).bytes;
}

/** Tx id: Blake2b-256 of the body encoding (cached when the tx has it). */
export function txId(tx: TxData): Uint8Array {
  const t = tx as Partial<Tx>;
  if (t.id) return t.id;
  return hash256(encodeBody(tx.body));
}

/** Size in bytes of an encoded tx (or of a tx's encoding). */
export function txSize(tx: Uint8Array | TxData): number {
  if (tx instanceof Uint8Array) return tx.length;
  const t = tx as Partial<Tx>;
  return t.size ?? encodeTx(tx).length;
}

// ---- strict decoding ----

function isBytes(x: unknown, len?: number): x is Uint8Array {
  return x instanceof Uint8Array && (len === undefined || x.length === len);
}

function isUint(x: unknown): x is number {
  return typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
}

function isArr(x: unknown, len?: number): x is unknown[] {
  return Array.isArray(x) && (len === undefined || x.length === len);
}

/** A plain Uint8Array view (cbor-x hands out Buffers). */
function u8(b: Uint8Array): Uint8Array {
  return new Uint8Array(b.buffer, b.byteOffset, b.length);
}

function fail(msg: string): never {
  throw new TxDecodeError(msg);
}

function decodeUpdate(u: unknown): TxUpdate {
  if (!isArr(u)) fail('update is not an array');
  if (u[0] === 0) {
    if (u.length !== 6) fail('propose update shape');
    const [, protocolVersion, era, epoch, poolId, sig] = u;
    if (!isUint(protocolVersion) || typeof era !== 'string' || !isUint(epoch) || typeof poolId !== 'string' || !isBytes(sig))
      fail('propose update fields');
    return { kind: 'propose', protocolVersion, era, epoch, poolId, sig: u8(sig) };
  }
  if (u[0] === 1) {
    if (u.length !== 4) fail('endorse update shape');
    const [, proposalId, poolId, sig] = u;
    if (!isBytes(proposalId, 32) || typeof poolId !== 'string' || !isBytes(sig)) fail('endorse update fields');
    return { kind: 'endorse', proposalId: u8(proposalId), poolId, sig: u8(sig) };
  }
  fail('unknown update kind');
}

function decodeBodyValue(b: unknown): TxBody {
  if (!isArr(b, 5)) fail('body is not a 5-element array');
  const [ins, outs, fee, padding, update] = b;
  if (!isArr(ins) || !isArr(outs)) fail('inputs/outputs are not arrays');
  const inputs: TxIn[] = new Array(ins.length);
  for (let i = 0; i < ins.length; i++) {
    const x = ins[i];
    if (!isArr(x, 2) || !isBytes(x[0], TX_ID_BYTES) || !isUint(x[1])) fail(`input ${i}`);
    inputs[i] = { txId: u8(x[0]), index: x[1] };
  }
  const outputs: TxOut[] = new Array(outs.length);
  for (let i = 0; i < outs.length; i++) {
    const x = outs[i];
    if (!isArr(x, 2) || !isBytes(x[0], ADDRESS_BYTES) || !isUint(x[1])) fail(`output ${i}`);
    // a copy, not a view: an output lives in the UTxO set until spent, and a view would keep
    // the whole tx (1.5 kB of ci-bench padding) alive with its 28-byte address
    outputs[i] = { address: new Uint8Array(x[0] as Uint8Array), amount: x[1] };
  }
  if (!isUint(fee)) fail('fee');
  if (!isBytes(padding)) fail('padding');
  const body: { -readonly [K in keyof TxBody]: TxBody[K] } = { inputs, outputs, fee };
  if (padding.length > 0) body.padding = u8(padding);
  if (update !== null) body.update = decodeUpdate(update);
  return body;
}

function decodeWitnesses(ws: unknown): Witness[] {
  if (!isArr(ws)) fail('witnesses is not an array');
  const out: Witness[] = new Array(ws.length);
  for (let i = 0; i < ws.length; i++) {
    const w = ws[i];
    if (!isArr(w, 2) || !isBytes(w[0], VKEY_BYTES) || !isBytes(w[1], SIG_BYTES)) fail(`witness ${i}`);
    out[i] = { vkey: u8(w[0]), sig: u8(w[1]) };
  }
  return out;
}

/**
 * A fresh Buffer over the same memory: cbor-x caches a `dataView` property on the object it
 * decodes, which must not land on the caller's array.
 */
export function view(b: Uint8Array): Buffer {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

function sameBytes(a: Uint8Array, aOff: number, b: Uint8Array): boolean {
  if (aOff + b.length > a.length) return false;
  return Buffer.from(a.buffer, a.byteOffset + aOff, b.length).equals(Buffer.from(b.buffer, b.byteOffset, b.length));
}

export { ownBytes };

/**
 * Strict decode: the result's byte strings are views into `bytes`, or into a copy of it when
 * `bytes` is a view into a larger buffer (see ownBytes; do not mutate `bytes` afterwards).
 * Throws TxDecodeError on any deviation from the canonical format.
 */
export function decodeTx(bytes: Uint8Array): Tx {
  if (!(bytes instanceof Uint8Array)) fail('not bytes');
  bytes = ownBytes(bytes);
  if (bytes.length < 2 || bytes[0] !== 0x82) fail('not a 2-element array');
  let v: unknown;
  try {
    v = cbor.decode(view(bytes));
  } catch (e) {
    fail((e as Error).message);
  }
  if (!isArr(v, 2)) fail('not a 2-element array');
  const body = decodeBodyValue(v[0]);
  const witnesses = decodeWitnesses(v[1]);
  // Canonical form: re-encoding must reproduce the input exactly (this also rejects
  // non-shortest heads, indefinite lengths, tags, floats and trailing bytes).
  const bodyBytes = cbor.encode(bodyToCbor(body));
  if (!sameBytes(bytes, 1, bodyBytes)) fail('non-canonical body encoding');
  const wBytes = cbor.encode(witnessesToCbor(witnesses));
  if (1 + bodyBytes.length + wBytes.length !== bytes.length || !sameBytes(bytes, 1 + bodyBytes.length, wBytes))
    fail('non-canonical witness encoding or trailing bytes');
  const bb = bytes.subarray(1, 1 + bodyBytes.length);
  const id = hash256(bb);
  return { body, witnesses, bytes, bodyBytes: bb, id, idHex: toHex(id), size: bytes.length };
}

function checkBodyShape(b: TxBody): void {
  for (const i of b.inputs)
    if (!isBytes(i.txId, TX_ID_BYTES) || !isUint(i.index)) throw new TypeError('tx input: txId must be 32 bytes, index a uint');
  for (const o of b.outputs)
    if (!isBytes(o.address, ADDRESS_BYTES) || !isUint(o.amount))
      throw new TypeError('tx output: address must be 28 bytes, amount a safe uint');
  if (!isUint(b.fee)) throw new TypeError('tx fee must be a safe uint');
  if (b.padding !== undefined && !isBytes(b.padding)) throw new TypeError('tx padding must be bytes');
  const u = b.update;
  if (u) {
    const ok =
      u.kind === 'propose'
        ? isUint(u.protocolVersion) && typeof u.era === 'string' && isUint(u.epoch) && typeof u.poolId === 'string' && isBytes(u.sig)
        : u.kind === 'endorse' && isBytes(u.proposalId, 32) && typeof u.poolId === 'string' && isBytes(u.sig);
    if (!ok) throw new TypeError('tx update has a wrong shape');
  }
}

function checkWitnessShape(ws: readonly Witness[]): void {
  for (const w of ws)
    if (!isBytes(w.vkey, VKEY_BYTES) || !isBytes(w.sig, SIG_BYTES)) throw new TypeError('witness: vkey 32 bytes, sig 64 bytes');
}

// ---- update helpers (validated by the consensus core) ----

/** The bytes an update's `sig` signs: the update's encoding without the signature. */
export function updateSigningBytes(u: TxUpdate): Uint8Array {
  return cbor.encode(updateToCbor(u, false));
}

/** Id of a proposal, referenced by endorsements: Blake2b-256 of its signing bytes. */
export function proposalId(u: TxUpdate & { kind: 'propose' }): Uint8Array {
  return hash256(updateSigningBytes(u));
}

// ---- keys, signing, building ----

/** Address of an Ed25519 verification key: Blake2b-224(vkey). */
export function addressOf(vkey: Uint8Array): Uint8Array {
  return hash224(vkey);
}

/** A payment key ready to sign many txs (parsed once). */
export interface TxSigner {
  readonly vkey: Uint8Array;
  readonly address: Uint8Array;
  sign(msg: Uint8Array): Uint8Array;
}

export function makeSigner(seed: Uint8Array): TxSigner {
  const vkey = ed25519PublicKey(seed);
  return { vkey, address: addressOf(vkey), sign: ed25519Signer(seed) };
}

const signerCache = new WeakMap<Uint8Array, TxSigner>();

function toSigner(s: Uint8Array | TxSigner): TxSigner {
  if (!(s instanceof Uint8Array)) return s;
  let k = signerCache.get(s);
  if (!k) {
    k = makeSigner(s);
    signerCache.set(s, k);
  }
  return k;
}

/** Sign a body as is (no fee or balance logic): one witness per signer, over the tx id. */
export function signTx(body: TxBody, signers: readonly (Uint8Array | TxSigner)[]): Tx {
  const bodyBytes = encodeBody(body);
  const id = hash256(bodyBytes);
  const witnesses: Witness[] = new Array(signers.length);
  for (let i = 0; i < signers.length; i++) {
    const s = toSigner(signers[i]);
    witnesses[i] = { vkey: s.vkey, sig: s.sign(id) };
  }
  return assemble(body, bodyBytes, witnesses, id);
}

/** Minimum fee of a tx of `size` bytes: minFeeA·size + minFeeB. */
export function minFee(params: Pick<ProtocolParams, 'minFeeA' | 'minFeeB'>, size: number): number {
  return params.minFeeA * size + params.minFeeB;
}

export interface BuildTxInput extends TxIn {
  /** the spent output's amount; needed on every input for change/balance computation */
  readonly amount?: number;
}

export interface BuildTxArgs {
  readonly inputs: readonly BuildTxInput[];
  readonly outputs: readonly TxOut[];
  /** a floor for the fee; the fee is raised to the minimum fee when below it */
  readonly fee?: number;
  /** payment key seeds (32 B) or prepared signers (faster: makeSigner once, reuse) */
  readonly signers: readonly (Uint8Array | TxSigner)[];
  /** pad the tx (padding field) so its total size is padToBytes (or minimally above it) */
  readonly padToBytes?: number;
  readonly protocolParams: Pick<ProtocolParams, 'minFeeA' | 'minFeeB'> & Partial<Pick<ProtocolParams, 'maxTxSize'>>;
  /**
   * Where the change goes (appended as the last output, omitted when zero). Needs every
   * input's amount. Without it and with all amounts known, any excess goes to the fee.
   */
  readonly changeAddress?: Uint8Array;
  readonly update?: TxUpdate;
}

/**
 * Build and sign a balanced tx paying at least the minimum fee. Iterates because the fee
 * and the change amount change the size. Throws TxBuildError when inputs do not cover
 * outputs + fee, or the result exceeds protocolParams.maxTxSize.
 */
export function buildTx(a: BuildTxArgs): Tx {
  const { protocolParams: pp, signers } = a;
  let inTotal: number | undefined = 0;
  for (const i of a.inputs) {
    if (i.amount === undefined) {
      inTotal = undefined;
      break;
    }
    inTotal += i.amount;
  }
  let outTotal = 0;
  for (const o of a.outputs) outTotal += o.amount;
  if (a.changeAddress && inTotal === undefined) throw new TxBuildError('change requested but some input has no amount');
  const inputs: TxIn[] = a.inputs.map((i) => ({ txId: i.txId, index: i.index }));
  const nw = signers.length;
  const target = a.padToBytes ?? 0;

  let fee = a.fee ?? 0;
  let padLen = 0;
  for (let iter = 0; iter < 16; iter++) {
    let outputs = a.outputs;
    let f = fee;
    if (inTotal !== undefined) {
      const rest = inTotal - outTotal - f;
      if (rest < 0) throw new TxBuildError(`insufficient funds: inputs ${inTotal} < outputs ${outTotal} + fee ${f}`);
      if (a.changeAddress) {
        if (rest > 0) outputs = [...a.outputs, { address: a.changeAddress, amount: rest }];
      } else f += rest;
    }
    const b: { -readonly [K in keyof TxBody]: TxBody[K] } = { inputs, outputs, fee: f };
    if (padLen > 0) b.padding = new Uint8Array(padLen);
    if (a.update) b.update = a.update;
    const body: TxBody = b;
    const size = txEncodedSize(bodyEncodedSize(body), nw);
    // Adjust padding towards the target size (fee changes can move the size by a few bytes).
    if (target > 0 && size !== target) {
      const want = padLen + (target - size);
      const np = fitPadding(padLen, want);
      if (np !== padLen) {
        padLen = np;
        continue;
      }
    }
    const need = minFee(pp, size);
    if (f >= need) {
      if (pp.maxTxSize !== undefined && size > pp.maxTxSize)
        throw new TxBuildError(`tx size ${size} exceeds maxTxSize ${pp.maxTxSize}`);
      return signTx(body, signers);
    }
    fee = Math.max(fee, need);
  }
  throw new TxBuildError('fee computation did not converge');
}

/**
 * Padding length whose encoded item (head + bytes) is as close as possible to, but not
 * smaller than, `want` bytes of payload when moving from `cur` (accounts for the bstr head
 * growing at 24 / 256 / 65536 bytes).
 */
function fitPadding(cur: number, want: number): number {
  if (want <= 0) return 0;
  const curItem = cborHeadLen(cur) + cur;
  const wantItem = curItem + (want - cur);
  // smallest p with head(p) + p >= wantItem
  let p = Math.max(0, wantItem - cborHeadLen(Math.max(0, wantItem - 1)));
  while (p > 0 && cborHeadLen(p - 1) + p - 1 >= wantItem) p--;
  while (cborHeadLen(p) + p < wantItem) p++;
  return p;
}

/** A tx's outputs as ready-to-spend buildTx inputs (tx-generators chaining their own txs). */
export function txOutputRefs(tx: Tx): (BuildTxInput & { readonly address: Uint8Array; readonly amount: number })[] {
  return tx.body.outputs.map((o, index) => ({ txId: tx.id, index, amount: o.amount, address: o.address }));
}

/** Key of an output in the UTxO map: `txIdHex#index`. */
export function utxoKey(txIdHex: string, index: number): string {
  return `${txIdHex}#${index}`;
}

/** Key of the output an input spends. */
export function inputKey(i: TxIn): string {
  return `${toHex(i.txId)}#${i.index}`;
}
