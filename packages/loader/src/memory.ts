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
