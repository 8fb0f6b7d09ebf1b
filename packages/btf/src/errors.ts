/** A malformed or unsupported BTF blob, or a lookup that cannot be answered (missing type, member, wrong kind). */
export class BtfError extends Error {
  override readonly name = 'BtfError';
}

/** A file that is not a readable ELF64 little-endian object, or a section that lies outside it. */
export class ElfError extends Error {
  override readonly name = 'ElfError';
}
