// The exact 64-bit conversion at the edges of double precision, the word
// slots, and record classes that follow the table.
import { describe, expect, it } from 'vitest';
import {
  abi,
  BATCH_SLOT_OFFSETS,
  decodeConn,
  decodeConnStats,
  decodePortBinding,
  decodeTcpStats,
  decodeTelemetry,
  decodeTuple,
  toBatch,
  type StructLayout,
  type StructName,
} from '../src/index.js';
import { slot, u64 } from '../src/view.js';

describe('u64 from two 32-bit words', () => {
  const cases: [number, number][] = [
    [0, 0],
    [0xffffffff, 0x1fffff], // 2^53 - 1: the last exact double
    [0, 0x200000], // 2^53
    [1, 0x200000], // 2^53 + 1: not a double
    [0x89abcdef, 0x01234567],
    [0xffffffff, 0xffffffff],
    [0x7fffffff, 0x80000000],
  ];
  it.each(cases)('lo %i hi %i', (lo, hi) => {
    const want = (BigInt(hi) << 32n) | BigInt(lo);
    expect(u64(lo, hi)).toBe(want);
    expect(u64(lo | 0, hi | 0)).toBe(want); // as read from an Int32Array
  });
});

describe('slot', () => {
  it('places fields in their word and refuses misaligned ones', () => {
    expect(slot('x', { offset: 34, size: 2 })).toEqual({ word: 8, shift: 16 });
    expect(slot('x', { offset: 29, size: 1 })).toEqual({ word: 7, shift: 8 });
    expect(slot('x', { offset: 456, size: 8 })).toEqual({ word: 114, shift: 0 });
    expect(() => slot('x', { offset: 33, size: 2 })).toThrow(/not a naturally aligned/);
    expect(() => slot('x', { offset: 0, size: 3 })).toThrow(/not a naturally aligned/);
  });
});

describe('record classes cover the table', () => {
  // A field added to the header fails here until its class has a getter and
  // toObject() shows it. Aliases: the name a struct-typed or address field has in the view / in toObject().
  const camel = (s: string): string => s.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
  const cases: [StructName, (b: Uint8Array) => { toObject(): object }, Record<string, string>, Record<string, string>][] = [
    ['conn_tuple', decodeTuple, {}, { saddr_h: 'source', saddr_l: 'source', daddr_h: 'dest', daddr_l: 'dest' }],
    ['conn_stats', decodeConnStats, {}, {}],
    ['tcp_stats', decodeTcpStats, {}, {}],
    ['conn', decodeConn, { tup: 'tuple', conn_stats: 'stats', tcp_stats: 'tcp' }, { tup: 'tuple', conn_stats: 'stats', tcp_stats: 'tcp' }],
    ['port_binding', decodePortBinding, {}, {}],
  ];
  it.each(cases)('%s: a getter and a toObject() key for every field', (name, decode, getterAlias, objectAlias) => {
    const layout = abi.structs[name] as StructLayout;
    const rec = decode(new Uint8Array(layout.size));
    const keys = Object.keys(rec.toObject());
    const proto = Object.getPrototypeOf(rec) as object;
    for (const field of Object.keys(layout.fields).filter((f) => !f.startsWith('_'))) {
      const getter = getterAlias[field] ?? camel(field);
      expect(typeof Object.getOwnPropertyDescriptor(proto, getter)?.get, `${name}.${field}: getter ${getter}`).toBe('function');
      expect(keys, `${name}.${field}: toObject().${objectAlias[field] ?? camel(field)}`).toContain(objectAlias[field] ?? camel(field));
    }
    expect(JSON.stringify(rec)).toBe(JSON.stringify(rec.toObject(), (_, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)));
  });

  it('batch and telemetry: every field', () => {
    const b = toBatch(new Uint8Array(abi.structs.batch.size));
    expect(Object.keys(b.toObject())).toEqual(['len', 'id', 'conns']);
    expect(BATCH_SLOT_OFFSETS).toEqual([0, 1, 2, 3].map((k) => (abi.structs.batch.fields as Record<string, { offset: number }>)[`c${k}`]?.offset));
    const t = decodeTelemetry(new Uint8Array(abi.structs.telemetry.size));
    expect(Object.keys(t)).toEqual(Object.keys(abi.structs.telemetry.fields).filter((f) => !f.startsWith('_')).map(camel));
  });

  it('every byte-sized neighbour of padding has its own slot', () => {
    expect(slot('conn_stats.direction', abi.structs.conn_stats.fields.direction)).toEqual({ word: 15, shift: 0 });
    expect(slot('tcp_stats.state', abi.structs.tcp_stats.fields.state)).toEqual({ word: 5, shift: 16 });
    expect(slot('conn.reason', abi.structs.conn.fields.reason)).toEqual({ word: 34, shift: 0 });
    expect(slot('port_binding.protocol', abi.structs.port_binding.fields.protocol)).toEqual({ word: 1, shift: 16 });
  });
});
