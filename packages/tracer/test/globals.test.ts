// Settings the tracer derives from kernel files (no root): kallsyms data
// symbols for the protocol fast path, and the sock_common head check.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Worker } from 'node:worker_threads';
import { headOk, kallsymsWorker, protGlobals, SK_HEAD } from '../src/globals.js';

function kallsyms(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'tracer-ks-'));
  const path = join(dir, 'kallsyms');
  writeFileSync(path, text);
  return path;
}

describe('protGlobals', () => {
  it('reads the four proto addresses (local or global data symbols), never a longer name', () => {
    const path = kallsyms(
      'ffffffff81000000 T _stext\nffffffff82a1b2c0 D tcp_prot\nffffffff82a1b4c0 d tcpv6_prot\nffffffff82a1c200 D udpv6_prot_x\nffffffff82a1c000 D udp_prot\nffffffff82a1c400 D udpv6_prot\n',
    );
    try {
      expect(protGlobals(path)).toEqual({ prot_tcp: 0xffffffff82a1b2c0n, prot_tcpv6: 0xffffffff82a1b4c0n, prot_udp: 0xffffffff82a1c000n, prot_udpv6: 0xffffffff82a1c400n });
    } finally {
      rmSync(path, { force: true });
    }
  });

  it('the kallsyms worker (its source run in a real worker thread) posts the same four addresses, from a file bigger than its first buffer', async () => {
    // 9 MiB of other symbols first: the reader's 8 MiB buffer has to grow
    const filler = 'ffffffff81000000 T some_function_name_of_forty_bytes_long_\n'.repeat(Math.ceil((9 << 20) / 58));
    const path = kallsyms(`${filler}ffffffff82a1b2c0 D tcp_prot\nffffffff82a1b4c0 d tcpv6_prot\nffffffff82a1c000 D udp_prot\nffffffff82a1c400 D udpv6_prot\n`);
    try {
      const got = await new Promise((resolve, reject) => {
        const w = new Worker(kallsymsWorker(path), { eval: true });
        w.once('message', resolve);
        w.once('error', reject);
      });
      expect(got).toEqual({ prot_tcp: 0xffffffff82a1b2c0n, prot_tcpv6: 0xffffffff82a1b4c0n, prot_udp: 0xffffffff82a1c000n, prot_udpv6: 0xffffffff82a1c400n });
    } finally {
      rmSync(path, { force: true });
    }
  });

  it('falls back (prot_tcp 0) without data symbols, with hidden addresses, or without the file', () => {
    const noData = kallsyms('ffffffff81000000 T _stext\nffffffff81000100 T tcp_v4_connect\n');
    const hidden = kallsyms('0000000000000000 D tcp_prot\n0000000000000000 D tcpv6_prot\n0000000000000000 D udp_prot\n0000000000000000 D udpv6_prot\n');
    try {
      expect(protGlobals(noData)).toEqual({ prot_tcp: 0n });
      expect(protGlobals(hidden)).toEqual({ prot_tcp: 0n });
      expect(protGlobals('/nonexistent/kallsyms')).toEqual({ prot_tcp: 0n });
    } finally {
      rmSync(noData, { force: true });
      rmSync(hidden, { force: true });
    }
  });
});

describe('headOk', () => {
  const base = { skcFamily: 16, skcState: 18, skcRcvSaddr: 4, skcDaddr: 0, skcDport: 12, skcNum: 14, skcProt: 40, skcNet: 48, skcV6RcvSaddr: 72, skcV6Daddr: 56 };
  it(`holds when every head field ends within ${SK_HEAD} bytes, not otherwise`, () => {
    expect(headOk(base as never)).toBe(true);
    expect(headOk({ ...base, skcV6RcvSaddr: SK_HEAD - 16 } as never)).toBe(true);
    expect(headOk({ ...base, skcV6RcvSaddr: SK_HEAD - 15 } as never)).toBe(false);
  });
});
