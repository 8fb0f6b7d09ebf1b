// The large, long-lived arrays of a snapshot (each client's row slab, its
// counter memos) in anonymous mappings of their own, outside malloc (the
// loader's allocPages): Node allocates a plain typed array with calloc, and
// once glibc has freed one large mapped chunk its dynamic mmap threshold puts
// later ones of that size on the heap, where calloc writes every page (a
// slab sized for the maps' capacity all resident at once) and what is freed
// stays with the process: RSS climbed round after round of churn. Here a
// page costs memory only once written, the mapping goes back to the kernel
// when its array is collected, and a kept slab can give pages back.
import { allocPages, releasePages } from '@tracer-bpf/loader';

/** Smaller arrays come from malloc like any other: under glibc's default mmap threshold, never the trouble above. */
const MIN_BYTES = 128 << 10;
let mapped = true;

/** A zero-filled Float64Array of `n` elements; in pages of its own when large. */
export function float64s(n: number): Float64Array {
  if (mapped && n * 8 >= MIN_BYTES) {
    try {
      return new Float64Array(allocPages(n * 8));
    } catch {
      mapped = false; // a runtime without external buffers: plain arrays from here on
    }
  }
  return new Float64Array(n);
}

/** Give the pages of `f` from element `from` on back to the kernel (they read as zero again); the array stays usable. */
export function releaseFrom(f: Float64Array, from: number): void {
  if ((f.length - from) * 8 >= MIN_BYTES) releasePages(f.subarray(from));
}
