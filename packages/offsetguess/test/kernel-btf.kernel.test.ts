// Reading the running kernel's BTF: mapped read-only where the kernel allows
// it (/sys/kernel/btf/vmlinux is mmap-able from 6.16 on), read page by page
// otherwise; both give the same offsets, and the read can be forced. Runs on
// the host (6.18: mapped) and in every guest of tools/vmtest (older: read).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { KERNEL_BTF_PATH } from '@tracer-bpf/btf';
import { mapFileReadOnly } from '@tracer-bpf/loader';
import { describe, expect, it } from 'vitest';
import { offsetsFromBtf, readKernelBtf } from '../src/index.js';

const [major, minor] = release().split('.').map(Number) as [number, number];
const mappable = major > 6 || (major === 6 && minor >= 16);

describe('the running kernel\'s BTF', () => {
  it(`is ${mappable ? '' : 'not '}mapped read-only on ${release()} (6.16+), and gives the same offsets as the page-by-page read`, () => {
    const bytes = mapFileReadOnly(KERNEL_BTF_PATH);
    if (mappable) {
      expect(bytes, 'a mapping of vmlinux BTF').toBeDefined();
      expect([bytes![0], bytes![1]]).toEqual([0x9f, 0xeb]); // the magic, little-endian
    } else {
      expect(bytes, 'no mapping before 6.16: read instead').toBeUndefined();
    }
    expect(offsetsFromBtf(readKernelBtf('auto'))).toEqual(offsetsFromBtf(readKernelBtf('read')));
  });

  it('a file that is not BTF, or none, is a BtfError naming it, whichever way it is read', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kernel-btf-'));
    try {
      const junk = join(dir, 'vmlinux');
      writeFileSync(junk, 'not BTF at all, but long enough for a header\n');
      for (const method of ['auto', 'read'] as const) {
        expect(() => readKernelBtf(method, junk), method).toThrow(/BTF: bad magic 0x6f6e/);
        expect(() => readKernelBtf(method, join(dir, 'none')), method).toThrow(expect.objectContaining({ name: 'BtfError', message: expect.stringContaining(join(dir, 'none')) }));
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
