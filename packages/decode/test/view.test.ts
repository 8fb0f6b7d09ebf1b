// The exact 64-bit conversion at the edges of double precision, and the word slots.
import { describe, expect, it } from 'vitest';
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
