// A minimal ELF64 little-endian section reader: enough to find `.BTF` in a
// BPF object or a vmlinux image. Section data is returned as zero-copy views.
import { ElfError } from './errors.js';

/** One section header, with its bytes. */
export interface ElfSection {
  readonly index: number;
  readonly name: string;
  /** sh_type (SHT_PROGBITS = 1, SHT_NOBITS = 8, ...). */
  readonly type: number;
  readonly flags: bigint;
  readonly offset: number;
  readonly size: number;
  readonly link: number;
  readonly info: number;
  readonly addralign: number;
  readonly entsize: number;
  /** The section's bytes (a view into the file); empty for SHT_NOBITS. */
  readonly data: Uint8Array;
}

const EHDR_SIZE = 64;
const SHDR_SIZE = 64;
const SHT_NOBITS = 8;
const SHN_XINDEX = 0xffff;
const utf8 = new TextDecoder();

function need(bytes: Uint8Array, off: number, len: number, what: string): void {
  if (off < 0 || off + len > bytes.byteLength) {
    throw new ElfError(`ELF: ${what} at offset ${off} needs ${len} bytes, the file has ${bytes.byteLength}`);
  }
}

function safe(v: bigint, what: string): number {
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new ElfError(`ELF: ${what} ${v} is out of range`);
  return Number(v);
}

function cString(bytes: Uint8Array, off: number, end: number): string {
  let e = off;
  while (e < end && bytes[e] !== 0) e++;
  return utf8.decode(bytes.subarray(off, e));
}

/** Every section of an ELF64 little-endian file, in header order (index 0 is the null section). */
export function readElfSections(bytes: Uint8Array): ElfSection[] {
  need(bytes, 0, EHDR_SIZE, 'the ELF header');
  if (bytes[0] !== 0x7f || bytes[1] !== 0x45 || bytes[2] !== 0x4c || bytes[3] !== 0x46) {
    throw new ElfError('ELF: not an ELF file (bad magic)');
  }
  if (bytes[4] !== 2) throw new ElfError(`ELF: only ELF64 is supported (EI_CLASS ${bytes[4]})`);
  if (bytes[5] !== 1) throw new ElfError(`ELF: only little-endian ELF is supported (EI_DATA ${bytes[5]})`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const shoff = safe(dv.getBigUint64(0x28, true), 'e_shoff');
  const shentsize = dv.getUint16(0x3a, true);
  let shnum = dv.getUint16(0x3c, true);
  let shstrndx = dv.getUint16(0x3e, true);
  if (shoff === 0) return [];
  if (shentsize < SHDR_SIZE) throw new ElfError(`ELF: e_shentsize ${shentsize} is smaller than ${SHDR_SIZE}`);
  need(bytes, shoff, shentsize, 'section header 0');
  // Extended numbering: the real counts live in section header 0.
  if (shnum === 0) shnum = safe(dv.getBigUint64(shoff + 32, true), 'section count');
  if (shstrndx === SHN_XINDEX) shstrndx = dv.getUint32(shoff + 40, true);
  need(bytes, shoff, shnum * shentsize, `${shnum} section headers`);
  if (shstrndx >= shnum) throw new ElfError(`ELF: section name table index ${shstrndx} >= ${shnum} sections`);

  const raw = [];
  for (let i = 0; i < shnum; i++) {
    const h = shoff + i * shentsize;
    const type = dv.getUint32(h + 4, true);
    const offset = safe(dv.getBigUint64(h + 24, true), `section ${i} offset`);
    const size = safe(dv.getBigUint64(h + 32, true), `section ${i} size`);
    if (type !== SHT_NOBITS && i !== 0) need(bytes, offset, size, `section ${i}'s data`);
    raw.push({
      index: i,
      nameOff: dv.getUint32(h, true),
      type,
      flags: dv.getBigUint64(h + 8, true),
      offset,
      size,
      link: dv.getUint32(h + 40, true),
      info: dv.getUint32(h + 44, true),
      addralign: safe(dv.getBigUint64(h + 48, true), `section ${i} alignment`),
      entsize: safe(dv.getBigUint64(h + 56, true), `section ${i} entsize`),
    });
  }
  const strtab = raw[shstrndx];
  if (!strtab || strtab.type === SHT_NOBITS) throw new ElfError('ELF: the section name table has no data');
  const strEnd = strtab.offset + strtab.size;
  return raw.map(({ nameOff, ...s }) => {
    if (s.index !== 0 && nameOff >= strtab.size) throw new ElfError(`ELF: section ${s.index}'s name is outside the name table`);
    return {
      ...s,
      name: s.index === 0 ? '' : cString(bytes, strtab.offset + nameOff, strEnd),
      data: s.type === SHT_NOBITS || s.index === 0 ? new Uint8Array(0) : bytes.subarray(s.offset, s.offset + s.size),
    };
  });
}

/** The bytes of the first section called `name`, or undefined. */
export function findElfSection(bytes: Uint8Array, name: string): Uint8Array | undefined {
  return readElfSections(bytes).find((s) => s.name === name)?.data;
}
