// Address formatting against glibc's inet_ntop (test/c/golden.c prints 2000+
// IPv6 addresses with random zero runs, and a fixed set of corner cases).
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { formatAddress, formatIPv4, formatIPv6 } from '../src/index.js';
import { buildDir, compileHost, PKG } from './helpers.js';

let oracle: { hex: string; text: string }[];

beforeAll(() => {
  const bin = compileHost(join(PKG, 'test', 'c', 'golden.c'), join(buildDir('address'), 'golden'));
  oracle = (JSON.parse(execFileSync(bin, { encoding: 'utf8' })) as { ipv6: { hex: string; text: string }[] }).ipv6;
});

describe('address formatting', () => {
  it('formats IPv6 as inet_ntop does (RFC 5952), IPv4-mapped as IPv4', () => {
    let compared = 0;
    for (const { hex, text } of oracle) {
      const got = formatIPv6(Buffer.from(hex, 'hex'));
      if (text.startsWith('::ffff:') && text.includes('.')) {
        expect(got, hex).toBe(text.slice(7));
      } else if (text.includes('.')) {
        continue; // glibc writes ::a.b.c.d (deprecated IPv4-compatible form); we keep hex groups
      } else {
        expect(got, hex).toBe(text);
      }
      compared++;
    }
    expect(compared).toBeGreaterThan(1900);
  });

  it('formats IPv4 and tuple halves', () => {
    expect(formatIPv4([10, 0, 0, 255])).toBe('10.0.0.255');
    expect(formatIPv4(new Uint8Array([255, 255, 255, 255]))).toBe('255.255.255.255');
    // 192.0.2.1 in the low 32 bits of l, wire order read little-endian.
    expect(formatAddress(0n, 0x010200c0n, false)).toBe('192.0.2.1');
    // 2001:db8::1: h = bytes 20 01 0d b8 00.. as LE u64, l = 00.. 00 01.
    expect(formatAddress(0xb80d0120n, 0x0100000000000000n, true)).toBe('2001:db8::1');
    expect(formatAddress(0n, 0x0100007fffff0000n, true)).toBe('127.0.0.1');
    expect(() => formatIPv4([1, 2, 3])).toThrow(/needs 4 bytes, got 3/);
    expect(() => formatIPv6(new Uint8Array(4))).toThrow(/needs 16 bytes/);
  });
});
