// A client's previous counters per connection, for its deltas, kept in the
// order its last call read the connections. The kernel's hash maps give
// their entries in the same order call after call (bucket by bucket) while
// they hold the same connections, so row i of a call is almost always entry
// i of the last one, or a few entries further when connections went: a
// match is a comparison with the next entries, read front to back, not a
// hash-table probe at a random place (a cache miss per connection: that
// was ~230 ns of a 100k-connection snapshot's 350 ns of work).
// What does not match in order (a connection new, or moved) is resolved
// after the pass, through an index built over only the last call's
// entries left unmatched; closed connections, through a small index of
// their own keys and one front-to-back scan.
//
// An entry: the retransmits and key words as 32-bit words, then the four
// counters (sent bytes, received bytes, sent packets, received packets) as
// float64: 48 bytes for a TCP key (socket id and pid).
import { float64s } from './slab-memory.js';

/** Entries past the expected one tried before a row is left for the index. */
const LOOKAHEAD = 8;
/** Entries kept room for however few connections there are. */
const MIN_CAP = 1024;
/** Bits of the closed keys' prefilter. */
const FILTER_BITS = 12;

/** The rows a memo reads and writes deltas into: a RowStore's float64 slots and 32-bit words (unsigned and signed) of the same bytes. */
export interface DeltaSink {
  f: Float64Array;
  u: Uint32Array;
  i32: Int32Array;
}

export class CounterMemo {
  /** Key words per entry. */
  private readonly kw: number;
  /** The key words' positions in a row's 32-bit words. */
  private readonly keyAt: Int32Array;
  /** Float64 slots per entry. */
  private readonly stride: number;
  /** Float64 index of the counters within an entry. */
  private readonly valAt: number;
  /** Row layout: float64 slots per row, the counters' slot, the deltas' slot, the retransmits' and their delta's words. */
  private readonly row: number;
  private readonly sCounters: number;
  private readonly sDelta: number;
  private readonly wRetr: number;
  private readonly wDRetr: number;

  // The last call's entries, and which of them this call matched (or a closed delivery consumed).
  private lf: Float64Array;
  private lu: Uint32Array;
  private ln = 0;
  private lgone: Uint8Array;
  // This call's entries (empty between calls).
  private cf: Float64Array;
  private cu: Uint32Array;
  private cn = 0;
  private cgone: Uint8Array;
  /** The last call's entry the next row is expected to match. */
  private cursor = 0;
  /** Rows not matched in order: their store row and their entry of this call. */
  private pendRow = new Int32Array(64);
  private pendEntry = new Int32Array(64);
  private pendN = 0;

  constructor(keyAt: readonly number[], layout: { row: number; counters: number; delta: number; retr: number; dRetr: number }) {
    this.kw = keyAt.length;
    this.keyAt = Int32Array.from(keyAt);
    this.valAt = (1 + this.kw + 1) >>> 1;
    this.stride = this.valAt + 4;
    this.row = layout.row;
    this.sCounters = layout.counters;
    this.sDelta = layout.delta;
    this.wRetr = layout.retr;
    this.wDRetr = layout.dRetr;
    this.lf = float64s(MIN_CAP * this.stride);
    this.lu = new Uint32Array(this.lf.buffer, this.lf.byteOffset, 2 * this.lf.length);
    this.lgone = new Uint8Array(MIN_CAP);
    this.cf = float64s(MIN_CAP * this.stride);
    this.cu = new Uint32Array(this.cf.buffer, this.cf.byteOffset, 2 * this.cf.length);
    this.cgone = new Uint8Array(MIN_CAP);
  }

  /** Start a call of at most `n` live rows of this memo's kind: room for them (less memory after a burst). */
  begin(n: number): void {
    const cap = this.cf.length / this.stride;
    if (n > cap || (cap > MIN_CAP && cap > 4 * n + 4096)) {
      const c = Math.max(MIN_CAP, n > cap ? Math.max(n, Math.ceil(cap * 1.5)) : 2 * n + 4096);
      this.cf = float64s(c * this.stride);
      this.cu = new Uint32Array(this.cf.buffer, this.cf.byteOffset, 2 * this.cf.length);
      this.cgone = new Uint8Array(c);
    } else {
      this.cgone.fill(0, 0, n);
    }
    this.cn = 0;
    this.cursor = 0;
    this.pendN = 0;
  }

  /** Row `i` of `s` is live: its delta against the last call (now, or after the pass for rows out of order), kept for the next. */
  live(s: DeltaSink, i: number): void {
    const u = s.u;
    const w = 2 * i * this.row;
    const keyAt = this.keyAt;
    const kw = this.kw;
    const stride = this.stride;
    // this call's entry for the row
    const c = this.cn++;
    const cu = this.cu;
    const cw = 2 * c * stride;
    cu[cw] = u[w + this.wRetr]!;
    for (let k = 0; k < kw; k++) cu[cw + 1 + k] = u[w + keyAt[k]!]!;
    const f = s.f;
    const o = i * this.row + this.sCounters;
    const cv = c * stride + this.valAt;
    this.cf[cv] = f[o]!;
    this.cf[cv + 1] = f[o + 1]!;
    this.cf[cv + 2] = f[o + 2]!;
    this.cf[cv + 3] = f[o + 3]!;
    // the last call's entries in order from the cursor
    const lu = this.lu;
    const gone = this.lgone;
    const end = Math.min(this.ln, this.cursor + LOOKAHEAD + 1);
    for (let e = this.cursor; e < end; e++) {
      if (gone[e] !== 0) continue;
      const lw = 2 * e * stride;
      let k = 0;
      while (k < kw && lu[lw + 1 + k] === cu[cw + 1 + k]) k++;
      if (k === kw) {
        gone[e] = 1;
        this.cursor = e + 1;
        this.write(s, i, this.lf, lu, e);
        return;
      }
    }
    if (this.pendN === this.pendRow.length) {
      const r = new Int32Array(this.pendN * 2);
      r.set(this.pendRow);
      this.pendRow = r;
      const en = new Int32Array(this.pendN * 2);
      en.set(this.pendEntry);
      this.pendEntry = en;
    }
    this.pendRow[this.pendN] = i;
    this.pendEntry[this.pendN++] = c;
  }

  /** After the live rows: those not matched in order, through an index of the last call's entries still unmatched. */
  resolve(s: DeltaSink): void {
    if (this.pendN === 0) return;
    const left: number[] = [];
    for (let e = 0; e < this.ln; e++) if (this.lgone[e] === 0) left.push(e);
    const index = this.indexOf(this.lu, left);
    for (let p = 0; p < this.pendN; p++) {
      const e = index ? this.find(index, this.lu, this.cu, this.pendEntry[p]!, this.lgone) : -1;
      if (e >= 0) this.lgone[e] = 1;
      this.write(s, this.pendRow[p]!, this.lf, this.lu, e);
    }
    this.pendN = 0;
  }

  /**
   * Closed rows `rows` of `s` (in delivery order): each one's delta against
   * this call's live counters of it, else the last call's, else all of it;
   * what it matched is forgotten (a later sight starts from zero).
   */
  closed(s: DeltaSink, rows: readonly number[]): void {
    const m = rows.length;
    if (m === 0) return;
    const u = s.u;
    const keyAt = this.keyAt;
    const kw = this.kw;
    // the closed keys, as entries of their own, indexed; a prefilter on their first word
    const keys = new Uint32Array(m * kw);
    const filter = new Uint8Array(1 << FILTER_BITS);
    for (let j = 0; j < m; j++) {
      const w = 2 * rows[j]! * this.row;
      for (let k = 0; k < kw; k++) keys[j * kw + k] = u[w + keyAt[k]!]!;
      filter[keys[j * kw]! & ((1 << FILTER_BITS) - 1)] = 1;
    }
    const index = new Int32Array(pow2(2 * m));
    const mask = index.length - 1;
    for (let j = 0; j < m; j++) {
      let h = hashWords(keys, j * kw, kw) & mask;
      // the first of equal keys takes the slot: the earliest close gets the counters
      for (;;) {
        const x = index[h]!;
        if (x === 0) {
          index[h] = j + 1;
          break;
        }
        if (sameWords(keys, (x - 1) * kw, keys, j * kw, kw)) break;
        h = (h + 1) & mask;
      }
    }
    const found = new Int32Array(m).fill(-1);
    const from = new Int8Array(m); // 1: this call's entry, 2: the last call's
    const scan = (eu: Uint32Array, n: number, gone: Uint8Array, tag: number): void => {
      const ew = 2 * this.stride;
      for (let e = 0; e < n; e++) {
        if (gone[e] !== 0 || filter[eu[e * ew + 1]! & ((1 << FILTER_BITS) - 1)] === 0) continue;
        let h = hashWords(eu, e * ew + 1, kw) & mask;
        for (;;) {
          const x = index[h]!;
          if (x === 0) break;
          if (sameWords(keys, (x - 1) * kw, eu, e * ew + 1, kw)) {
            if (found[x - 1] === -1) {
              found[x - 1] = e;
              from[x - 1] = tag;
              gone[e] = 1;
            }
            break;
          }
          h = (h + 1) & mask;
        }
      }
    };
    scan(this.cu, this.cn, this.cgone, 1);
    scan(this.lu, this.ln, this.lgone, 2);
    for (let j = 0; j < m; j++) {
      const e = found[j]!;
      if (e < 0) this.write(s, rows[j]!, this.lf, this.lu, -1);
      else if (from[j] === 1) this.write(s, rows[j]!, this.cf, this.cu, e);
      else this.write(s, rows[j]!, this.lf, this.lu, e);
    }
  }

  /** End of a call: its entries become the last call's; what was not seen in it is forgotten. */
  finish(): void {
    const { lf, lu, lgone } = this;
    this.lf = this.cf;
    this.lu = this.cu;
    this.lgone = this.cgone;
    this.ln = this.cn;
    this.cf = lf;
    this.cu = lu;
    this.cgone = lgone;
    this.cn = 0;
    // the buffer now free was sized for an older call: begin() resizes it when it is far off
  }

  /** Row `i`'s delta against entry `e` of `ef`/`eu` (-1: none, so all of it). */
  private write(s: DeltaSink, i: number, ef: Float64Array, eu: Uint32Array, e: number): void {
    const f = s.f;
    const o = i * this.row;
    const c = o + this.sCounters;
    const d = o + this.sDelta;
    const retr = s.u[2 * o + this.wRetr]!;
    if (e < 0) {
      f[d] = f[c]!;
      f[d + 1] = f[c + 1]!;
      f[d + 2] = f[c + 2]!;
      f[d + 3] = f[c + 3]!;
      s.i32[2 * o + this.wDRetr] = retr;
    } else {
      const v = e * this.stride + this.valAt;
      f[d] = f[c]! - ef[v]!;
      f[d + 1] = f[c + 1]! - ef[v + 1]!;
      f[d + 2] = f[c + 2]! - ef[v + 2]!;
      f[d + 3] = f[c + 3]! - ef[v + 3]!;
      s.i32[2 * o + this.wDRetr] = retr - eu[2 * e * this.stride]!;
    }
  }

  /** An open-addressing index (entry + 1 per slot) of entries `list` of `eu`, or undefined for none. */
  private indexOf(eu: Uint32Array, list: readonly number[]): Int32Array | undefined {
    if (list.length === 0) return undefined;
    const index = new Int32Array(pow2(2 * list.length));
    const mask = index.length - 1;
    const ew = 2 * this.stride;
    for (const e of list) {
      let h = hashWords(eu, e * ew + 1, this.kw) & mask;
      while (index[h] !== 0) h = (h + 1) & mask;
      index[h] = e + 1;
    }
    return index;
  }

  /** The entry of `index` (over `eu`) with the key of entry `c` of `cu`, not gone; or -1. */
  private find(index: Int32Array, eu: Uint32Array, cu: Uint32Array, c: number, gone: Uint8Array): number {
    const mask = index.length - 1;
    const ew = 2 * this.stride;
    for (let h = hashWords(cu, c * ew + 1, this.kw) & mask; ; h = (h + 1) & mask) {
      const x = index[h]!;
      if (x === 0) return -1;
      if (gone[x - 1] === 0 && sameWords(eu, (x - 1) * ew + 1, cu, c * ew + 1, this.kw)) return x - 1;
    }
  }
}

function pow2(n: number): number {
  let p = 16;
  while (p < n) p *= 2;
  return p;
}

function hashWords(a: Uint32Array, at: number, n: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < n; i++) h = Math.imul(h ^ a[at + i]!, 0x01000193) ^ (h >>> 15);
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  return (h ^ (h >>> 13)) >>> 0;
}

function sameWords(a: Uint32Array, at: number, b: Uint32Array, bt: number, n: number): boolean {
  for (let i = 0; i < n; i++) if (a[at + i] !== b[bt + i]) return false;
  return true;
}
