// The only file reading of the package: thin wrappers that read bytes and
// hand them to the pure parsers.
import { readFileSync } from 'node:fs';
import { Btf } from './btf.js';
import { btfFromElf } from './elf-btf.js';
import { PagedFile } from './paged-file.js';

/** Default path of the running kernel's BTF. */
export const KERNEL_BTF_PATH = '/sys/kernel/btf/vmlinux';

/**
 * The running kernel's BTF (or a raw BTF file at `path`), read on demand:
 * one pass over the type headers now, the pages a lookup needs when it is
 * made (a file that reports no size is read whole).
 */
export function loadKernelBtf(path: string = KERNEL_BTF_PATH): Btf {
  const pager = PagedFile.open(path);
  return pager ? Btf.fromFile(pager) : Btf.parse(readFileSync(path));
}

/** Parse the .BTF section of the ELF object at `path`. */
export function loadElfBtf(path: string): Btf {
  return btfFromElf(readFileSync(path));
}
