// The only file reading of the package: thin wrappers that read bytes and
// hand them to the pure parsers.
import { readFileSync } from 'node:fs';
import { Btf } from './btf.js';
import { btfFromElf } from './elf-btf.js';

/** Default path of the running kernel's BTF. */
export const KERNEL_BTF_PATH = '/sys/kernel/btf/vmlinux';

/** Parse the running kernel's BTF (or a raw BTF file at `path`). */
export function loadKernelBtf(path: string = KERNEL_BTF_PATH): Btf {
  return Btf.parse(readFileSync(path));
}

/** Parse the .BTF section of the ELF object at `path`. */
export function loadElfBtf(path: string): Btf {
  return btfFromElf(readFileSync(path));
}
