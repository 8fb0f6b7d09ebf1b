// Map operations on a real kernel hash map: element ops and flags, whole-map
// reads by batch and by iteration (forced), lookup-and-delete, wrong sizes.
import { readFileSync } from 'node:fs';
import { testObjects as objects } from '@tracer-bpf/bpf/test';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BPF_F_NO_PREALLOC, BpfArgumentError, BpfError, BpfObject, BpfStateError, probeFeature } from '../src/index.js';

const N = 10_000;

function key(i: number): Buffer {
  const b = Buffer.alloc(48);
  b.writeUInt32LE(i, 0);
  b.writeUInt32LE((i ^ 0xdeadbeef) >>> 0, 44);
  return b;
}
function value(i: number): Buffer {
  const b = Buffer.alloc(48);
  b.writeBigUInt64LE(BigInt(i) * 3n, 0);
  b.writeBigUInt64LE(BigInt(i) + 7n, 40);
  return b;
}

describe('hash map with 48-byte keys and values', () => {
  let obj: BpfObject;
  beforeAll(async () => {
    obj = BpfObject.open(objects.loaderTest);
    obj.map('bench').setMaxEntries(N);
    // Only the map matters here: load no program.
    for (const p of obj.programs.values()) p.setAutoload(false);
    await obj.load();
  });
  afterAll(() => obj?.close());

  it('reports its type and sizes, from the spec and from the kernel', () => {
    const m = obj.map('bench');
    expect([m.typeName, m.keySize, m.valueSize, m.maxEntries]).toEqual(['hash', 48, 48, N]);
    const info = m.info();
    expect(info).toMatchObject({ type: 1, keySize: 48, valueSize: 48, maxEntries: N });
    expect(info.id).toBeGreaterThan(0);
  });

  it('looks up, updates with flags and deletes', () => {
    const m = obj.map('bench');
    expect(m.lookup(key(1))).toBeUndefined();
    m.update(key(1), value(1), 'noexist');
    expect(m.lookup(key(1))).toEqual(value(1));
    expect(() => m.update(key(1), value(2), 'noexist')).toThrow(expect.objectContaining({ code: 'EEXIST' }));
    expect(() => m.update(key(2), value(2), 'exist')).toThrow(expect.objectContaining({ code: 'ENOENT' }));
    m.update(key(1), value(5), 'exist');
    const out = Buffer.alloc(48);
    expect(m.lookup(key(1), out)).toBe(out);
    expect(out).toEqual(value(5));
    expect(m.delete(key(1))).toBe(true);
    expect(m.delete(key(1))).toBe(false);
  });

  it('fills by batch update and reads everything back the same by batch and by iteration', () => {
    const m = obj.map('bench');
    const keys = Buffer.concat(Array.from({ length: N }, (_, i) => key(i)));
    const values = Buffer.concat(Array.from({ length: N }, (_, i) => value(i)));
    expect(m.updateBatch(keys, values, N)).toBe(N);
    const full = Buffer.alloc(48);
    expect(() => m.update(key(N + 1), full, 'noexist')).toThrow(expect.objectContaining({ code: 'E2BIG' }));

    const batch = m.readAll({ method: 'batch', batchSize: 1000 });
    const iter = m.readAll({ method: 'iterate' });
    const auto = m.readAll();
    expect(auto.method).toBe(probeFeature('batchOps').supported ? 'batch' : 'iterate');
    for (const d of [batch, iter, auto]) {
      expect(d.count).toBe(N);
      // Compare in bulk (one expect per dump): every key once, each with its own value.
      const seen = new Set<number>();
      const wrong: number[] = [];
      for (let i = 0; i < d.count; i++) {
        const k = d.keys.subarray(i * 48, (i + 1) * 48);
        const idx = k.readUInt32LE(0);
        if (!k.equals(key(idx)) || !d.values.subarray(i * 48, (i + 1) * 48).equals(value(idx))) wrong.push(idx);
        seen.add(idx);
      }
      expect({ method: d.method, wrong, distinct: seen.size }).toEqual({ method: d.method, wrong: [], distinct: N });
    }
  });

  it('reads a full map into the buffers the caller passed, without allocating new ones', () => {
    const m = obj.map('bench');
    const keys = Buffer.alloc(N * 48);
    const values = Buffer.alloc(N * 48);
    for (const method of ['batch', 'iterate'] as const) {
      const d = m.readAll({ method, keys, values });
      expect(d.count).toBe(N);
      expect(d.keys.buffer).toBe(keys.buffer);
      expect(d.values.buffer).toBe(values.buffer);
    }
    // Too small: fresh buffers, still everything.
    const small = m.readAll({ keys: Buffer.alloc(48), values: Buffer.alloc(48) });
    expect(small.count).toBe(N);
  });

  it('steps through the map with lookupBatch and a cursor: every key once, each with its value', () => {
    const m = obj.map('bench');
    const cursor = m.newBatchCursor();
    const keys = Buffer.alloc(48 * 4096);
    const values = Buffer.alloc(48 * 4096);
    const seen = new Set<number>();
    const wrong: number[] = [];
    let total = 0;
    let calls = 0;
    for (;;) {
      const r = m.lookupBatch(cursor, keys, values, 4096);
      for (let i = 0; i < r.count; i++) {
        const k = keys.subarray(i * 48, (i + 1) * 48);
        const idx = k.readUInt32LE(0);
        if (!k.equals(key(idx)) || !values.subarray(i * 48, (i + 1) * 48).equals(value(idx)) || seen.has(idx)) wrong.push(idx);
        seen.add(idx);
      }
      total += r.count;
      calls++;
      if (r.done) break;
    }
    expect({ total, distinct: seen.size, wrong }).toEqual({ total: N, distinct: N, wrong: [] });
    // At most 4096 per call: at least ceil(N / 4096) calls.
    expect(calls).toBeGreaterThanOrEqual(Math.ceil(N / 4096));
  });

  it('reads and deletes in one pass, by batch and by iteration', () => {
    const m = obj.map('bench');
    const half = N / 2;
    const d1 = m.readAll({ method: 'batch', delete: true });
    expect(d1.count).toBe(N);
    expect(m.readAll().count).toBe(0);
    const keys = Buffer.concat(Array.from({ length: half }, (_, i) => key(i)));
    const values = Buffer.concat(Array.from({ length: half }, (_, i) => value(i)));
    m.updateBatch(keys, values, half);
    const d2 = m.readAll({ method: 'iterate', delete: true });
    expect(d2.count).toBe(half);
    expect(m.readAll({ method: 'iterate' }).count).toBe(0);
  });

  it('rejects keys and values of the wrong size with a clear error', () => {
    const m = obj.map('bench');
    const err = (() => {
      try {
        m.lookup(Buffer.alloc(47));
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(BpfArgumentError);
    expect((err as BpfError).message).toMatch(/key is 47 bytes; map bench has 48-byte keys/);
    expect(() => m.update(key(1), Buffer.alloc(8))).toThrow(/value is 8 bytes; map bench needs 48/);
    expect(() => m.delete(Buffer.alloc(64))).toThrow(BpfArgumentError);
    expect(() => m.lookup('nope' as unknown as Buffer)).toThrow(BpfArgumentError);
  });

  it('per-CPU values: one 8-byte slot per possible CPU, checked', () => {
    const calls = obj.map('calls');
    // 8-byte slots, one per possible CPU (counted here from sysfs, not by the loader).
    const possible = readFileSync('/sys/devices/system/cpu/possible', 'utf8')
      .trim()
      .split(',')
      .reduce((n, r) => {
        const [a, b] = r.split('-').map(Number);
        return n + (b === undefined ? 1 : (b as number) - (a as number) + 1);
      }, 0);
    expect([calls.valueSize, calls.valueBytes]).toEqual([8, 8 * possible]);
    expect(calls.perCpuValues(Buffer.alloc(calls.valueBytes))).toHaveLength(possible);
    expect(() => calls.update(Buffer.alloc(4), Buffer.alloc(8 * (possible + 1)))).toThrow(/possible CPUs/);
  });

  it('refuses pre-load settings after load', () => {
    expect(() => obj.map('bench').setMaxEntries(5)).toThrow(BpfStateError);
    expect(() => obj.map('bench').setFlags(BPF_F_NO_PREALLOC)).toThrow(BpfStateError);
    expect(() => obj.setGlobal('target_port', 1)).toThrow(BpfStateError);
    expect(() => obj.program('count_send').setAutoload(true)).toThrow(BpfStateError);
  });
});

describe('map flags set before load', () => {
  it('BPF_F_NO_PREALLOC reaches the kernel (map info and fdinfo say so), and the map works', async () => {
    using obj = BpfObject.open(objects.loaderTest);
    for (const p of obj.programs.values()) p.setAutoload(false);
    const m = obj.map('bench').setMaxEntries(N);
    expect(m.flags & BPF_F_NO_PREALLOC).toBe(0);
    m.setFlags(m.flags | BPF_F_NO_PREALLOC);
    expect(m.flags & BPF_F_NO_PREALLOC).toBe(BPF_F_NO_PREALLOC);
    await obj.load();
    const info = m.info();
    expect(info.flags & BPF_F_NO_PREALLOC).toBe(BPF_F_NO_PREALLOC);
    expect(readFileSync(`/proc/self/fdinfo/${info.fd}`, 'utf8')).toMatch(/^map_flags:\s+0x1$/m);
    m.update(key(1), value(1));
    expect(m.lookup(key(1))).toEqual(value(1));
  });

  it('a flag the kernel does not allow for the map fails load with EINVAL naming the map; a bad value is an argument error', async () => {
    using obj = BpfObject.open(objects.loaderTest);
    for (const p of obj.programs.values()) p.setAutoload(false);
    const m = obj.map('bench').setMaxEntries(N);
    expect(() => m.setFlags(-1)).toThrow(BpfArgumentError);
    expect(() => m.setFlags(1.5)).toThrow(/flags/);
    // BPF_F_RDONLY_PROG and BPF_F_WRONLY_PROG together: refused for any map
    m.setFlags((1 << 7) | (1 << 8));
    const err = await obj.load().then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(BpfError);
    expect(err).toMatchObject({ code: 'EINVAL', errno: 22, map: 'bench', syscall: 'BPF_MAP_CREATE' });
  });
});
