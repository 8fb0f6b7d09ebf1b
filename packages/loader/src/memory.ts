// Large, long-lived buffers outside malloc (native/memory.cc says why): for a
// caller that keeps a buffer far larger than what it usually fills and wants
// only the pages it writes to cost memory.
import { native } from './binding.js';

/**
 * A zero-filled ArrayBuffer of `bytes` in an anonymous mapping of its own
 * (mmap): a page costs memory only once written, whatever malloc's state,
 * and the mapping is unmapped when the buffer is garbage-collected. Throws
 * where the runtime refuses external buffers; fall back to `new ArrayBuffer`.
 */
export function allocPages(bytes: number): ArrayBuffer {
  return native.pages_alloc(bytes);
}

/**
 * Give the whole pages inside `view`'s bytes back to the kernel
 * (madvise MADV_DONTNEED; partial pages at either end are kept): they read
 * as zero afterwards and cost no memory until written again. The buffer stays
 * usable. Returns the bytes released.
 */
export function releasePages(view: ArrayBufferView): number {
  return native.pages_release(view);
}

/**
 * The whole file at `path` in a private, read-only mapping, or undefined
 * when the file cannot be mapped so (it reports no size, or its filesystem
 * refuses: /sys/kernel/btf/vmlinux can be mapped from Linux 6.16 on). No
 * copy and no read syscalls: a large sysfs file otherwise takes a read(2)
 * per page. Unmapped when the bytes are garbage-collected.
 *
 * READ ONLY: a write to these bytes kills the process (SIGSEGV). Hand them
 * only to code that reads (e.g. `Btf.parse`). Throws a BpfError when the file
 * cannot be opened (ENOENT, EACCES).
 */
export function mapFileReadOnly(path: string): Uint8Array | undefined {
  const b = native.file_map_ro(path);
  return b === null ? undefined : new Uint8Array(b);
}
