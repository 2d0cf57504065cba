import { hash256, toHex } from '../../node/crypto/hash.ts';

// Seeded randomness for planning: every random choice derives from the profile seed and a label
// naming its purpose, so adding a consumer never perturbs the others. No Math.random anywhere.

const enc = new TextEncoder();

/** 32 bytes derived from (seed, label): key seeds, nonces, tokens. */
export function deriveBytes(seed: number, label: string): Uint8Array {
  return hash256(enc.encode(`leiosnet/${seed}/${label}`));
}

/** sfc32 (Chris Doty-Humphrey's small fast counter), 128-bit state from Blake2b(seed, label). */
export class Rng {
  #a: number;
  #b: number;
  #c: number;
  #d: number;
  readonly seed: number;
  readonly label: string;

  constructor(seed: number, label = 'root') {
    this.seed = seed;
    this.label = label;
    const h = deriveBytes(seed, `rng/${label}`);
    const v = new DataView(h.buffer, h.byteOffset, h.byteLength);
    this.#a = v.getUint32(0, true);
    this.#b = v.getUint32(4, true);
    this.#c = v.getUint32(8, true);
    this.#d = v.getUint32(12, true) | 1;
    for (let i = 0; i < 12; i++) this.uint32();
  }

  /** An independent stream for a sub-purpose. */
  fork(label: string): Rng {
    return new Rng(this.seed, `${this.label}/${label}`);
  }

  uint32(): number {
    const t = (((this.#a + this.#b) | 0) + this.#d) | 0;
    this.#d = (this.#d + 1) | 0;
    this.#a = this.#b ^ (this.#b >>> 9);
    this.#b = (this.#c + (this.#c << 3)) | 0;
    this.#c = (this.#c << 21) | (this.#c >>> 11);
    this.#c = (this.#c + t) | 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1) with 53 bits. */
  next(): number {
    return (this.uint32() * 2 ** 21 + (this.uint32() >>> 11)) / 2 ** 53;
  }

  /** Uniform integer in [lo, hi). */
  int(lo: number, hi: number): number {
    if (!(hi > lo)) throw new RangeError(`empty range [${lo}, ${hi})`);
    return lo + Math.floor(this.next() * (hi - lo));
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(0, items.length)]!;
  }

  /** Fisher–Yates, in place; returns the array. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(0, i + 1);
      [items[i], items[j]] = [items[j]!, items[i]!];
    }
    return items;
  }

  hex(bytes: number): string {
    const out = new Uint8Array(bytes);
    for (let i = 0; i < bytes; i += 4) {
      const x = this.uint32();
      for (let k = 0; k < 4 && i + k < bytes; k++) out[i + k] = (x >>> (8 * k)) & 0xff;
    }
    return toHex(out);
  }
}
