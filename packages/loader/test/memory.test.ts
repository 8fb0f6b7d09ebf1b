// allocPages / releasePages (no BPF, no root): a large buffer costs memory only
// for the pages written, and a kept buffer can give its pages back.
// mapFileReadOnly: a file's bytes without reading it.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { allocPages, BpfArgumentError, BpfError, mapFileReadOnly, releasePages } from '../src/index.js';

const MiB = 2 ** 20;
const rss = (): number => process.memoryUsage().rss;

describe('pages outside malloc', () => {
  it('a 64 MiB buffer is resident only where written, and released pages read as zero and cost nothing', () => {
    const before = rss();
    const f = new Float64Array(allocPages(64 * MiB));
    expect(f.length).toBe(8 * MiB);
    expect(rss() - before).toBeLessThan(4 * MiB);
    f.fill(1);
    expect(rss() - before).toBeGreaterThan(60 * MiB);
    // keep the first MiB, give back the rest
    expect(releasePages(f.subarray(MiB / 8))).toBe(63 * MiB);
    expect(rss() - before).toBeLessThan(8 * MiB);
    expect([f[0], f[MiB / 8 - 1], f[MiB / 8], f.at(-1)]).toEqual([1, 1, 0, 0]);
    f[f.length - 1] = 2; // still usable
    expect(f.at(-1)).toBe(2);
  });

  it('only whole pages inside the view are released: the bytes around it are kept', () => {
    const b = new Uint8Array(allocPages(5 * 4096)).fill(7);
    expect(releasePages(b.subarray(100, 4 * 4096 + 100))).toBe(3 * 4096);
    expect([b[4095], b[4096], b[4 * 4096 - 1], b[4 * 4096]]).toEqual([7, 0, 0, 7]);
    expect(releasePages(b.subarray(10, 4000))).toBe(0);
  });

  it('refuses a size that is not a non-negative integer, and a view that is not a typed array', () => {
    expect(allocPages(0).byteLength).toBe(0);
    expect(() => allocPages(-1)).toThrow(BpfArgumentError);
    expect(() => allocPages(1.5)).toThrow(BpfArgumentError);
    expect(() => releasePages({} as Uint8Array)).toThrow(BpfArgumentError);
  });
});

describe('a file mapped read-only', () => {
  it('holds the file\'s bytes; a file without a size is not mapped; a missing one is a BpfError with its errno', () => {
    const dir = mkdtempSync(join(tmpdir(), 'map-file-'));
    try {
      const path = join(dir, 'f');
      const data = Buffer.from(Array.from({ length: 3 * 4096 + 17 }, (_, i) => (i * 7) & 0xff));
      writeFileSync(path, data);
      const b = mapFileReadOnly(path)!;
      expect(Buffer.from(b).equals(readFileSync(path))).toBe(true);
      writeFileSync(join(dir, 'empty'), '');
      expect(mapFileReadOnly(join(dir, 'empty'))).toBeUndefined();
      expect(mapFileReadOnly('/proc/self/status')).toBeUndefined(); // no size: read it instead
      expect(() => mapFileReadOnly(join(dir, 'none'))).toThrow(expect.objectContaining({ code: 'ENOENT', message: expect.stringMatching(/^map file read-only .*none: ENOENT/) }));
      expect(() => mapFileReadOnly(join(dir, 'none'))).toThrow(BpfError);
      expect(() => mapFileReadOnly(5 as unknown as string)).toThrow(BpfArgumentError);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
