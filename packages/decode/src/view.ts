// Buffer access shared by the decoders: bounds checks, the 32-bit words of a
// buffer (cached per ArrayBuffer), word slots of table fields, exact 64-bit
// values from two words.
import { shortBuffer } from './errors.js';

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

// The buffer decoded last, with what the decoders need of it. On Node 20,
// byteLength, byteOffset and buffer cost ~10 ns each per access (they are not
// inlined), more than decoding a whole tuple: they are read once per buffer.
// Buffers are assumed fixed-length (Node Buffers are; resizable ArrayBuffers
// are not supported).
let cur: Uint8Array | undefined;
let curLength = 0;
let curOffset = 0;
let curWords: Int32Array | undefined;
let curView: DataView | undefined;
// Words are per ArrayBuffer, so subarrays of one buffer (the loader's perf/ring records) share them.
let wordsAb: ArrayBufferLike | undefined;
let wordsOfAb: Int32Array | undefined;

function load(buf: Uint8Array): void {
  if (!LITTLE_ENDIAN) throw new Error('@tracer-bpf/decode: the tracer ABI is little-endian; this host is big-endian');
  // `buffer` is the dearest of the three (~35 ns): it doubles as the type check.
  const ab = (buf as { buffer?: ArrayBufferLike } | null | undefined)?.buffer;
  if (ab === undefined) throw new TypeError('decode: expected a Uint8Array or Buffer');
  if (ab !== wordsAb) {
    wordsOfAb = new Int32Array(ab, 0, ab.byteLength >>> 2);
    wordsAb = ab;
  }
  cur = buf;
  curLength = buf.byteLength;
  curOffset = buf.byteOffset;
  curWords = wordsOfAb;
  curView = undefined;
}

/** Throws DecodeError unless `size` bytes at `offset` are inside `buf`. */
export function need(struct: string, buf: Uint8Array, offset: number, size: number): void {
  if (buf !== cur) load(buf);
  if (!(offset >= 0 && offset + size <= curLength && Number.isInteger(offset))) {
    throw shortBuffer(struct, curLength, offset, size);
  }
}

/**
 * Bounds-check `size` bytes of `struct` at `offset` of `buf`; return the
 * index of its first word in words() (index = byte offset in the
 * ArrayBuffer / 4), or -1 when the record is not 4-aligned (decode from
 * alignedCopy() then).
 */
export function locate(struct: string, buf: Uint8Array, offset: number, size: number): number {
  need(struct, buf, offset, size);
  const at = curOffset + offset;
  return (at & 3) === 0 ? at / 4 : -1;
}

/** The 32-bit words of the ArrayBuffer of the buffer passed to the last need()/locate(). */
export function words(): Int32Array {
  return curWords as Int32Array;
}

/** A fresh, 4-aligned copy of `size` bytes at `offset` of `buf`, as words (for records that do not start on a 4-byte boundary). */
export function alignedCopy(buf: Uint8Array, offset: number, size: number): Int32Array {
  const copy = new Uint8Array((size + 3) & ~3);
  copy.set(buf.subarray(offset, offset + size));
  return new Int32Array(copy.buffer);
}

/** A DataView over the buffer passed to the last need() (for the generic decoders). */
export function view(): DataView {
  return (curView ??= new DataView((cur as Uint8Array).buffer, curOffset, curLength));
}

/** Where a field of at most 32 bits sits: its word, and the bit shift inside it; for a 64-bit field, its low word. */
export interface Slot {
  readonly word: number;
  readonly shift: number;
}

/** The slot of a table field, checking it is naturally aligned (so it never straddles two words). */
export function slot(where: string, f: { readonly offset: number; readonly size: number }): Slot {
  const align = Math.min(f.size, 4);
  if (![1, 2, 4, 8].includes(f.size) || f.offset % align !== 0) {
    throw new Error(`@tracer-bpf/decode: ${where} (${f.size} bytes at ${f.offset}) is not a naturally aligned integer`);
  }
  return { word: f.offset >>> 2, shift: (f.offset & 3) * 8 };
}

/** Word index of a 4-aligned byte offset (a nested struct's start). */
export function wordIndex(where: string, offset: number): number {
  if (offset % 4 !== 0) throw new Error(`@tracer-bpf/decode: ${where} at ${offset} is not 4-aligned`);
  return offset / 4;
}

const TWO_32 = 4294967296;
/** Highest high word for which hi * 2^32 + lo stays an exact double (below 2^53). */
const EXACT_HI = 0x1fffff;

/** The u64 whose little-endian words are `lo` and `hi` (read as int32 or uint32), exactly. */
export function u64(lo: number, hi: number): bigint {
  const h = hi >>> 0;
  if (h <= EXACT_HI) return BigInt(h * TWO_32 + (lo >>> 0));
  return (BigInt(h) << 32n) | BigInt(lo >>> 0);
}
