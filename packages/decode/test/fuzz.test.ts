// Property-based: every decoder takes random and truncated buffers (1M in all,
// DECODE_FUZZ_RUNS to change it) and either decodes (then every getter,
// toObject(), toJSON(), toString(), detach() and bytes() work) or throws its
// typed DecodeError with fields that agree with the buffer; never anything
// else. fast-check draws the shape of each case (decoder, length, offset,
// alignment, truncation, a few structure-aware patches) and its seed; the
// bytes come from a xorshift generator seeded by it (drawing every byte
// through fast-check would cost minutes at this count).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  abi,
  compileStruct,
  DecodeError,
  decodeConn,
  decodeConnStats,
  decodePortBinding,
  decodeStruct,
  decodeTcpStats,
  decodeTelemetry,
  decodeTuple,
  type StructName,
  sumTelemetry,
  TcpState,
  toBatch,
} from '../src/index.js';

const RUNS = Number(process.env.DECODE_FUZZ_RUNS ?? 1_000_000);
/** Half the runs draw random buffers, half truncate whole records. */
const PER_PROPERTY = Math.max(1, Math.floor(RUNS / 2));
const SEED = Number(process.env.DECODE_FUZZ_SEED ?? 0x7b2a9);

const S = abi.structs;
const STRUCT_NAMES = Object.keys(S) as StructName[];

interface Decoder {
  name: string;
  /** sizeof the struct decoded at the offset (sumTelemetry: count entries). */
  size(count: number): number;
  decode(buf: Uint8Array, offset: number, count: number): unknown;
}

const DECODERS: Decoder[] = [
  { name: 'conn_tuple', size: () => S.conn_tuple.size, decode: (b, o) => decodeTuple(b, o) },
  { name: 'conn_stats', size: () => S.conn_stats.size, decode: (b, o) => decodeConnStats(b, o) },
  { name: 'tcp_stats', size: () => S.tcp_stats.size, decode: (b, o) => decodeTcpStats(b, o) },
  { name: 'conn', size: () => S.conn.size, decode: (b, o) => decodeConn(b, o) },
  { name: 'batch', size: () => S.batch.size, decode: (b, o) => toBatch(b, o) },
  { name: 'port_binding', size: () => S.port_binding.size, decode: (b, o) => decodePortBinding(b, o) },
  { name: 'telemetry', size: () => S.telemetry.size, decode: (b, o) => decodeTelemetry(b, o) },
  { name: 'telemetry', size: (n) => n * S.telemetry.size, decode: (b, o, n) => sumTelemetry(b, o, n) },
  ...STRUCT_NAMES.map((n): Decoder => ({ name: n, size: () => S[n].size, decode: (b, o) => decodeStruct(n, b, o) })),
  ...STRUCT_NAMES.map((n): Decoder => ({ name: n, size: () => S[n].size, decode: (b, o) => compileStruct(n)(b, o) })),
];
const MAX_SIZE = Math.max(...STRUCT_NAMES.map((n) => S[n].size)) * 2;

/** A plain check: vitest's expect() costs microseconds, too much a million times over. */
function assert(ok: boolean, what: string): void {
  if (!ok) throw new Error(what);
}

/** xorshift32: the bytes of a case from its seed. */
function fill(buf: Uint8Array, seed: number): void {
  let x = seed | 1;
  for (let i = 0; i < buf.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    buf[i] = x & 0xff;
  }
}

const ZERO_ARG = new Set(['toObject', 'toJSON', 'toString', 'detach', 'bytes']);
const TCP_STATES: number[] = Object.values(TcpState as Record<string, unknown>).filter((v): v is number => typeof v === 'number');
const bigintText = (_k: string, x: unknown): unknown => (typeof x === 'bigint' ? x.toString() : x);

/** Per prototype: its getters and the zero-argument methods a record offers (looked up once). */
const shapes = new Map<object, { getters: (() => unknown)[]; methods: (() => unknown)[]; entered: boolean }>();
function shapeOf(proto: object): { getters: (() => unknown)[]; methods: (() => unknown)[]; entered: boolean } {
  let s = shapes.get(proto);
  if (!s) {
    s = { getters: [], methods: [], entered: false };
    for (let p = proto; p && p !== Object.prototype; p = Object.getPrototypeOf(p)) {
      for (const [key, d] of Object.entries(Object.getOwnPropertyDescriptors(p))) {
        if (d.get) s.getters.push(d.get);
        else if (typeof d.value === 'function' && ZERO_ARG.has(key)) s.methods.push(d.value);
        else if (key === 'entered') s.entered = true;
      }
    }
    shapes.set(proto, s);
  }
  return s;
}

/** Read everything a decoded value offers: every getter (nested records and arrays too), the zero-argument methods. */
function touch(v: unknown, depth = 0): void {
  if (v === null || typeof v !== 'object' || depth > 4 || v instanceof Uint8Array) return;
  if (Array.isArray(v)) {
    for (const x of v) touch(x, depth + 1);
    return;
  }
  const proto = Object.getPrototypeOf(v) as object;
  if (proto === Object.prototype) {
    for (const key of Object.keys(v)) touch((v as Record<string, unknown>)[key], depth + 1);
    return;
  }
  const shape = shapeOf(proto);
  for (const g of shape.getters) touch(g.call(v), depth + 1);
  for (const m of shape.methods) JSON.stringify(m.call(v), bigintText);
  if (shape.entered) for (const s of TCP_STATES) assert(typeof (v as { entered(s: number): boolean }).entered(s) === 'boolean', 'entered() is a boolean');
  String(v);
}

/** The outcome of one case, checked against what the buffer allows. */
function check(d: Decoder, buf: Uint8Array, offset: number, count: number): 'ok' | 'short' | 'malformed' {
  let value: unknown;
  try {
    value = d.decode(buf, offset, count);
    touch(value);
  } catch (e) {
    if (!(e instanceof DecodeError)) throw new Error(`${d.name}: threw ${String(e)} (${(e as Error)?.name}), not a DecodeError: length ${buf.length}, offset ${offset}, count ${count}`);
    const where = `${d.name}: length ${buf.length}, offset ${offset}, count ${count}: ${e.message}`;
    assert(e.struct === d.name, `struct ${e.struct}: ${where}`);
    assert(Object.is(e.offset, offset), `offset ${e.offset}: ${where}`);
    if (e.reason === 'short') {
      const validOffset = Number.isInteger(offset) && offset >= 0;
      // short only when it really is: a bad offset, or the bytes after it are fewer than the struct
      assert(!validOffset || buf.length - offset < d.size(count), `short although the struct fits: ${where}`);
      assert(e.available === buf.length, `available ${e.available}: ${where}`);
      if (validOffset) assert(e.needed === offset + d.size(count), `needed ${e.needed}: ${where}`);
    } else {
      // only a batch can be malformed (len more than its slots)
      assert(e.reason === 'malformed' && d.name === 'batch', `reason ${e.reason}: ${where}`);
    }
    return e.reason;
  }
  // decoded: then the buffer held the whole struct at a valid offset
  assert(Number.isInteger(offset) && offset >= 0 && buf.length - offset >= d.size(count), `${d.name} decoded from too few bytes: length ${buf.length}, offset ${offset}, count ${count}`);
  return 'ok';
}

/** Structure-aware patches, so the valid paths are reached too: a batch len of 0..7, a small telemetry count. */
function patch(d: Decoder, buf: Uint8Array, offset: number, k: number): void {
  if (d.name !== 'batch' || !Number.isInteger(offset) || offset < 0) return;
  const at = offset + S.batch.fields.len.offset;
  if (at + 2 <= buf.length) {
    buf[at] = k % 8;
    buf[at + 1] = 0;
  }
}

// Fixed work (56 s for both properties on the quiet 2-core host, over 60 s for one with QEMU guests beside it):
// the timeout only guards against a hang.
describe(`decoders under ${RUNS} random and truncated buffers`, { timeout: 600_000 }, () => {
  it('random bytes, lengths, offsets (negative, fractional, NaN) and alignments: a value that reads whole, or a DecodeError', () => {
    const seen = { ok: 0, short: 0, malformed: 0 };
    const offsetArb = fc.oneof(
      { weight: 8, arbitrary: fc.nat(MAX_SIZE) },
      { weight: 1, arbitrary: fc.integer({ min: -64, max: -1 }) },
      { weight: 1, arbitrary: fc.constantFrom(Number.NaN, 0.5, 3.25, Infinity, -0, 2 ** 53) },
    );
    fc.assert(
      fc.property(fc.nat(DECODERS.length - 1), fc.nat(MAX_SIZE + 64), offsetArb, fc.nat(7), fc.integer(), fc.integer({ min: 0, max: 4 }), (which, length, offset, shift, seed, count) => {
        const d = DECODERS[which]!;
        // a subarray at a random byte shift of its ArrayBuffer: unaligned records take the copy path
        const buf = new Uint8Array(length + shift).subarray(shift);
        fill(buf, seed);
        patch(d, buf, offset, seed >>> 3);
        seen[check(d, buf, offset, Math.max(count, d.name === 'telemetry' ? 1 : 0))]++;
      }),
      { numRuns: PER_PROPERTY, seed: SEED },
    );
    // the cases reached every outcome (a generator that only made short buffers would prove little)
    expect(seen.ok).toBeGreaterThan(PER_PROPERTY / 20);
    expect(seen.short).toBeGreaterThan(PER_PROPERTY / 20);
    expect(seen.malformed).toBeGreaterThan(0);
  });

  it('whole records cut short at every length: DecodeError short with the bytes needed and available', () => {
    const seen = { ok: 0, short: 0, malformed: 0 };
    fc.assert(
      fc.property(fc.nat(DECODERS.length - 1), fc.nat(64), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), fc.integer(), fc.nat(7), (which, offset, cut, seed, shift) => {
        const d = DECODERS[which]!;
        const size = d.size(1);
        const whole = new Uint8Array(offset + size + shift).subarray(shift);
        fill(whole, seed);
        patch(d, whole, offset, seed >>> 3);
        // any length from 0 to one byte short of the record
        const buf = whole.subarray(0, Math.floor(cut * (offset + size)));
        const r = check(d, buf, offset, 1);
        seen[r]++;
        assert(r === 'short', `${d.name} cut to ${buf.length} of ${offset + size} bytes: ${r}`);
        // and the same record uncut decodes unless its content is impossible
        const uncut = check(d, whole, offset, 1);
        assert(uncut === 'ok' || uncut === 'malformed', `${d.name} uncut: ${uncut}`);
      }),
      { numRuns: PER_PROPERTY, seed: SEED + 1 },
    );
    expect(seen.short).toBe(PER_PROPERTY);
  });
});
