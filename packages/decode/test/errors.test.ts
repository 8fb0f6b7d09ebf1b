// Short and malformed buffers: a DecodeError naming the bytes needed and available.
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
  sumTelemetry,
  toBatch,
} from '../src/index.js';

const decoders: [string, number, (b: Uint8Array, o?: number) => unknown][] = [
  ['conn_tuple', abi.structs.conn_tuple.size, decodeTuple],
  ['conn_stats', abi.structs.conn_stats.size, decodeConnStats],
  ['tcp_stats', abi.structs.tcp_stats.size, decodeTcpStats],
  ['conn', abi.structs.conn.size, decodeConn],
  ['telemetry', abi.structs.telemetry.size, decodeTelemetry],
  ['telemetry (sum)', abi.structs.telemetry.size, (b, o) => sumTelemetry(b, o, 1)],
  ['port_binding', abi.structs.port_binding.size, decodePortBinding],
  ['batch', abi.structs.batch.size, toBatch],
  ['conn (generic)', abi.structs.conn.size, (b, o) => decodeStruct('conn', b, o)],
  ['conn (compiled)', abi.structs.conn.size, compileStruct('conn')],
];

function caught(f: () => unknown): DecodeError {
  try {
    f();
  } catch (err) {
    expect(err).toBeInstanceOf(DecodeError);
    return err as DecodeError;
  }
  throw new Error('did not throw');
}

describe('DecodeError', () => {
  it.each(decoders)('%s: a buffer one byte short', (name, size, decode) => {
    const e = caught(() => decode(new Uint8Array(size - 1)));
    expect(e).toMatchObject({ name: 'DecodeError', reason: 'short', needed: size, available: size - 1, offset: 0 });
    expect(e.message).toContain(`needs ${size} bytes`);
    expect(e.message).toContain(`${size - 1} available`);
    expect(e.struct).toBe(name.split(' ')[0]);
  });

  it.each(decoders)('%s: exactly the size decodes, an empty buffer does not', (_name, size, decode) => {
    expect(() => decode(new Uint8Array(size))).not.toThrow();
    expect(caught(() => decode(new Uint8Array(0)))).toMatchObject({ needed: size, available: 0 });
  });

  it('an offset that leaves too few bytes, a negative and a fractional offset', () => {
    const buf = new Uint8Array(100);
    expect(caught(() => decodeTuple(buf, 60))).toMatchObject({ needed: 108, available: 100, offset: 60 });
    expect(caught(() => decodeTuple(buf, 60)).message).toBe('decode conn_tuple: needs 108 bytes (48 at offset 60), 100 available');
    expect(caught(() => decodeTuple(buf, -4)).message).toMatch(/offset -4 is not a non-negative integer/);
    expect(caught(() => decodeConnStats(buf, 1.5)).message).toMatch(/offset 1.5/);
    expect(caught(() => decodeTuple(buf, Number.NaN)).message).toMatch(/offset NaN/);
    expect(() => decodeTuple(buf, 52)).not.toThrow();
  });

  it('a subarray is bounded by its own length, not its ArrayBuffer', () => {
    const whole = new Uint8Array(1000);
    const sub = whole.subarray(8, 8 + 47);
    expect(caught(() => decodeTuple(sub))).toMatchObject({ needed: 48, available: 47 });
  });

  it('a batch whose len is more than its slots is malformed', () => {
    const size = abi.structs.batch.size;
    const conn = abi.structs.conn.size;
    expect([size, conn]).toEqual([592, 144]);
    const buf = new Uint8Array(size);
    new DataView(buf.buffer).setUint16(abi.structs.batch.fields.len.offset, 9, true);
    const e = caught(() => toBatch(buf));
    expect(e).toMatchObject({ reason: 'malformed', struct: 'batch', needed: 9 * conn, available: 4 * conn });
    expect(e.message).toBe('decode batch: len 9 is more than its 4 slots (needs 1296 bytes of records, the batch holds 576)');
    new DataView(buf.buffer).setUint16(abi.structs.batch.fields.len.offset, 4, true);
    expect(toBatch(buf).conns).toHaveLength(4);
    expect(caught(() => toBatch(buf, 8))).toMatchObject({ reason: 'short', needed: size + 8, available: size });
  });

  it('not a byte array', () => {
    expect(() => decodeTuple(new ArrayBuffer(48) as unknown as Uint8Array)).toThrow(TypeError);
    expect(() => decodeStruct('nope' as 'conn', new Uint8Array(8))).toThrow(/no ABI struct named 'nope'/);
  });
});
