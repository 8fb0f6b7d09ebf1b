// Program statistics: run count and run time while a BPF stats scope is open
// (BPF_ENABLE_STATS: the kernel counts while the fd is open, without touching
// the kernel.bpf_stats_enabled sysctl), recursion misses from 5.12. Runs come
// from BPF_PROG_TEST_RUN, so their number is exact.
import { readFileSync } from 'node:fs';
import { testObjects as objects } from '@tracer-bpf/bpf/test';
import { describe, expect, it } from 'vitest';
import { BpfObject, enableBpfStats } from '../src/index.js';
import { kernelAtLeast } from './kernel-expect.js';

const sysctl = () => readFileSync('/proc/sys/kernel/bpf_stats_enabled', 'utf8').trim();

describe('program statistics', () => {
  it('count runs and run time inside an enableBpfStats() scope, and stop counting after it', async () => {
    using obj = BpfObject.open(objects.buffersTest);
    await obj.load();
    const p = obj.program('produce_ring');
    const before = sysctl();
    const s0 = p.stats();
    expect(s0.id).toBeGreaterThan(0);
    expect([s0.runCount, s0.runTimeNs]).toEqual([0n, 0n]);
    expect(s0.recursionMisses).toBe(kernelAtLeast(5, 12) ? 0n : undefined);
    {
      using scope = enableBpfStats();
      for (let i = 0; i < 5; i++) p.testRun({ ctx: [1, i] });
      const s = p.stats();
      expect(s.runCount).toBe(5n);
      expect(s.runTimeNs).toBeGreaterThan(0n);
      expect(scope.closed).toBe(false);
    }
    expect(sysctl()).toBe(before); // left as it was
    p.testRun({ ctx: [1, 9] });
    // Outside the scope the kernel counts only if someone else enabled stats.
    expect(p.stats().runCount).toBe(before === '0' ? 5n : 6n);
  });
});
