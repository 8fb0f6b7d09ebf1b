// The running kernel's BTF, mapped read-only where the kernel allows it (6.16+:
// no read per page, nothing copied), else read on demand by @tracer-bpf/btf.
import { Btf, KERNEL_BTF_PATH, loadKernelBtf } from '@tracer-bpf/btf';
import { mapFileReadOnly } from '@tracer-bpf/loader';

/** How kernel BTF is read: 'auto' maps it where the kernel allows and reads it otherwise; 'read' always reads. */
export type BtfReadMethod = 'auto' | 'read';

/** The running kernel's BTF (`path`: another raw BTF file). Throws a BtfError when it cannot be read or parsed. */
export function readKernelBtf(method: BtfReadMethod = 'auto', path: string = KERNEL_BTF_PATH): Btf {
  if (method === 'auto') {
    let bytes: Uint8Array | undefined;
    try {
      bytes = mapFileReadOnly(path);
    } catch {
      bytes = undefined; // cannot be opened: the reader below says why, in its own words
    }
    if (bytes) return Btf.parse(bytes);
  }
  return loadKernelBtf(path);
}
