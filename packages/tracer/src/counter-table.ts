// A client's previous counters per connection, for its deltas: an
// open-addressing hash table keyed by raw 32-bit key words: linear probing,
// any capacity (a hash maps to a slot by multiply-shift, not a mask: a power
// of two would take 2^21 slots for a million entries), rebuilt 70% full once
// 85% of the slots are used.
// A slot is one stretch of a Float64Array: its state and retransmits, the key
// words, then the four counters, so a lookup touches one or two cache lines
// (56 bytes for a 3-word TCP key: socket id and pid). A million connections
// take 1.2 to 1.4 million slots, 66 to 80 MB, and nothing for the GC to trace
// (a Map of string keys and objects cost ~270 bytes and GC time per entry).

import { float64s } from './slab-memory.js';

const EMPTY = 0;
const TOMB = 1;
/** The first call's mark (state values below are EMPTY and TOMB). */
export const FIRST_MARK = 2;
const MIN_CAP = 16;
/** Rebuilt when this share of the slots is used (entries and tombstones)... */
const MAX_LOAD = 0.85;
/** ...at a capacity that leaves this share full. */
const REBUILT_LOAD = 0.7;
const TWO_M32 = 1 / 4294967296;

export class CounterTable {
  /** Key words per entry. */
  readonly kw: number;
  /** The key to look up: fill key[0..kw) before find()/upsert(). */
  readonly key: Uint32Array;
  /** Float64 slots per table slot. */
  readonly stride: number;
  /** Float64 index of the counters in a slot (sent bytes, received bytes, sent packets, received packets). */
  readonly valAt: number;
  private _cap = 0;
  /** The slots (u: the same bytes as 32-bit words: [state, retransmits, key words...]). */
  f!: Float64Array;
  u!: Uint32Array;
  private _size = 0;
  private _used = 0;

  constructor(keyWords: number) {
    this.kw = keyWords;
    this.key = new Uint32Array(keyWords);
    this.valAt = (2 + keyWords + 1) >>> 1;
    this.stride = this.valAt + 4;
    this.alloc(MIN_CAP);
  }

  /** Entries. */
  get size(): number {
    return this._size;
  }

  private alloc(cap: number): void {
    this._cap = cap;
    this.f = float64s(cap * this.stride);
    this.u = new Uint32Array(this.f.buffer, this.f.byteOffset, 2 * this.f.length);
    this._size = 0;
    this._used = 0;
  }

  private hash(k: Uint32Array, at: number): number {
    let h = 0x811c9dc5;
    for (let i = 0; i < this.kw; i++) h = Math.imul(h ^ k[at + i]!, 0x01000193) ^ (h >>> 15);
    h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
    return (((h ^ (h >>> 13)) >>> 0) * TWO_M32 * this._cap) | 0;
  }

  private same(w: number): boolean {
    const k = this.key;
    const u = this.u;
    for (let i = 0; i < this.kw; i++) if (u[w + 2 + i] !== k[i]) return false;
    return true;
  }

  /** The slot of `key`, or -1. */
  find(): number {
    const u = this.u;
    const sw = this.stride * 2;
    for (let s = this.hash(this.key, 0); ; s = s + 1 === this._cap ? 0 : s + 1) {
      const x = u[s * sw]!;
      if (x === EMPTY) return -1;
      if (x !== TOMB && this.same(s * sw)) return s;
    }
  }

  /**
   * The slot of `key`, marked `mark`; a new one has zero counters. Returns
   * the slot, negated minus one when it is new.
   */
  upsert(mark: number): number {
    if (this._used + 1 > this._cap * MAX_LOAD) this.rehash();
    const u = this.u;
    const sw = this.stride * 2;
    let tomb = -1;
    for (let s = this.hash(this.key, 0); ; s = s + 1 === this._cap ? 0 : s + 1) {
      const x = u[s * sw]!;
      if (x === EMPTY) {
        const at = tomb >= 0 ? tomb : s;
        if (tomb < 0) this._used++;
        this._size++;
        const w = at * sw;
        u[w] = mark;
        u[w + 1] = 0;
        u.set(this.key, w + 2);
        const v = at * this.stride + this.valAt;
        this.f.fill(0, v, v + 4);
        return -at - 1;
      }
      if (x === TOMB) {
        if (tomb < 0) tomb = s;
      } else if (this.same(s * sw)) {
        u[s * sw] = mark;
        return s;
      }
    }
  }

  /** Room for `n` more entries without a rebuild on the way (one allocation, not a series of doublings). */
  reserve(n: number): void {
    if (n > 0 && this._used + n > this._cap * MAX_LOAD) this.rehash(n);
  }

  /** Forget the entry in `slot`. */
  remove(slot: number): void {
    this.u[slot * this.stride * 2] = TOMB;
    this._size--;
  }

  /** Forget every entry not marked `mark` (not seen by the call that marked). */
  sweep(mark: number): void {
    const u = this.u;
    const sw = this.stride * 2;
    const end = this._cap * sw;
    for (let w = 0; w < end; w += sw) {
      const x = u[w]!;
      if (x > TOMB && x !== mark) {
        u[w] = TOMB;
        this._size--;
      }
    }
    // Far too big for what is left (a burst of connections ended): shrink.
    if (this._cap > MIN_CAP && this._size * 8 < this._cap) this.rehash();
  }

  /** Rebuild at the capacity that leaves the table REBUILT_LOAD full, dropping tombstones. */
  private rehash(extra = 1): void {
    const oldCap = this._cap;
    const oldF = this.f;
    const oldU = this.u;
    const { stride } = this;
    const sw = stride * 2;
    const cap = Math.max(MIN_CAP, Math.ceil((this._size + extra) / REBUILT_LOAD));
    this.alloc(cap);
    const u = this.u;
    for (let o = 0; o < oldCap; o++) {
      const x = oldU[o * sw]!;
      if (x <= TOMB) continue;
      let s = this.hash(oldU, o * sw + 2);
      while (u[s * sw] !== EMPTY) s = s + 1 === this._cap ? 0 : s + 1;
      const f = this.f;
      for (let k = 0; k < stride; k++) f[s * stride + k] = oldF[o * stride + k]!;
      this._size++;
      this._used++;
    }
  }
}
