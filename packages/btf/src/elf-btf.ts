import { Btf } from './btf.js';
import { findElfSection } from './elf.js';
import { BtfError } from './errors.js';

/** The BTF of an ELF object (its `.BTF` section). Throws BtfError when there is none (compile with -g). */
export function btfFromElf(bytes: Uint8Array): Btf {
  const sec = findElfSection(bytes, '.BTF');
  if (!sec) throw new BtfError('BTF: the ELF file has no .BTF section (was it compiled with -g?)');
  return Btf.parse(sec);
}
