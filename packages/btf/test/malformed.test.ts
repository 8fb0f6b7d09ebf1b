// Hand-built BTF and ELF blobs: the encodings compilers rarely emit, and every way a blob can be broken.
import { describe, expect, it } from 'vitest';
import { Btf, BtfError, BtfKindId as K, ElfError, btfFromElf, readElfSections } from '../src/index.js';
import { BtfBuilder } from './builder.js';

/** int: name, size, bits (offset 0, unsigned). */
function int(b: BtfBuilder, name: string, size: number, bits = size * 8, bitOffset = 0, enc = 0): number {
  return b.add({ name, kind: K.int, sizeOrType: size, extra: [(enc << 24) | (bitOffset << 16) | bits] });
}

describe('BTF encodings', () => {
  it('old-style bitfields (no kind_flag) take their width and bit offset from the int type', () => {
    const b = new BtfBuilder();
    const u32 = int(b, 'unsigned int', 4);
    const bf3 = int(b, 'unsigned int', 4, 3, 2); // 3 bits at bit 2 of the storage unit
    // struct s { u32 a; u32 b:3 (at 32 + 2) }
    b.add({ name: 's', kind: K.struct, vlen: 2, sizeOrType: 8, extra: [b.str('a'), u32, 0, b.str('b'), bf3, 32] });
    const btf = Btf.parse(b.build());
    expect(btf.memberOffset('s', ['b'])).toMatchObject({ bitOffset: 34, offset: 4, bitSize: 3 });
    expect(btf.memberOffset('s', ['a'])).toMatchObject({ bitOffset: 0, bitSize: 0, size: 4 });
  });

  it('kind_flag bitfields and signed enums; anonymous union members; typedef chains', () => {
    const b = new BtfBuilder();
    const u16 = int(b, 'unsigned short', 2);
    const u8 = int(b, 'unsigned char', 1);
    const td = b.add({ name: 'u16_t', kind: K.typedef, sizeOrType: u16 });
    const cst = b.add({ kind: K.const, sizeOrType: td });
    // union { u16 x; u8 y } (anonymous)
    const un = b.add({ kind: K.union, vlen: 2, sizeOrType: 2, extra: [b.str('x'), cst, 0, b.str('y'), u8, 0] });
    // struct t { u8 f:5 (kind_flag, bit 3); anon union at 16 }
    b.add({ name: 't', kind: K.struct, kindFlag: true, vlen: 2, sizeOrType: 4, extra: [b.str('f'), u8, (5 << 24) | 3, 0, un, 16] });
    b.add({ name: 'e', kind: K.enum, kindFlag: true, vlen: 2, sizeOrType: 4, extra: [b.str('NEG'), -5 >>> 0, b.str('POS'), 7] });
    b.add({ name: 'ue', kind: K.enum, vlen: 1, sizeOrType: 4, extra: [b.str('BIG'), 0xfffffffb] });
    b.add({ name: 'e64', kind: K.enum64, kindFlag: true, vlen: 1, sizeOrType: 8, extra: [b.str('M'), 0xfffffffe, 0xffffffff] });
    const btf = Btf.parse(b.build());
    expect(btf.memberOffset('t', ['f'])).toMatchObject({ bitOffset: 3, bitSize: 5 });
    const x = btf.memberOffset('t', ['x']);
    expect(x).toMatchObject({ bitOffset: 16, offset: 2, bitSize: 0, size: 2 });
    expect(btf.resolve(x.type)).toBe(u16);
    expect(btf.typeName(x.type)).toBe('const u16_t');
    expect(btf.enum('e').values).toEqual([{ name: 'NEG', value: -5 }, { name: 'POS', value: 7 }]);
    expect(btf.enum('ue').values).toEqual([{ name: 'BIG', value: 0xfffffffb }]);
    expect(btf.enum('e64').values).toEqual([{ name: 'M', value: -2n }]);
  });

  it('sizes arrays, pointers and nested arrays; refuses sizeless kinds', () => {
    const b = new BtfBuilder();
    const u32 = int(b, 'unsigned int', 4);
    const arr = b.add({ kind: K.array, sizeOrType: 0, extra: [u32, u32, 3] });
    const arr2 = b.add({ kind: K.array, sizeOrType: 0, extra: [arr, u32, 2] });
    const ptr = b.add({ kind: K.ptr, sizeOrType: arr2 });
    const fwd = b.add({ name: 'opaque', kind: K.fwd, sizeOrType: 0 });
    const proto = b.add({ kind: K.func_proto, vlen: 2, sizeOrType: u32, extra: [b.str('a'), ptr, 0, 0] });
    const btf = Btf.parse(b.build());
    expect(btf.sizeOf(arr2)).toBe(24);
    expect(btf.sizeOf(ptr)).toBe(8);
    expect(btf.typeName(arr2)).toBe('unsigned int [3] [2]');
    expect(() => btf.sizeOf(fwd)).toThrow(BtfError);
    expect(() => btf.sizeOf(0)).toThrow(/no size/);
    const p = btf.type(proto);
    expect(p.kind === 'func_proto' && p.variadic).toBe(true);
    expect(btf.typeName(proto)).toBe('unsigned int (unsigned int [3] [2] *, ...)');
  });
});

describe('malformed BTF', () => {
  const valid = (): Uint8Array => {
    const b = new BtfBuilder();
    int(b, 'int', 4, 32, 0, 1);
    return b.build();
  };

  it('parses the valid baseline', () => {
    const btf = Btf.parse(valid());
    expect(btf.typeCount).toBe(1);
    expect(btf.type(1)).toMatchObject({ kind: 'int', name: 'int', signed: true, bits: 32 });
  });

  it('refuses a short header, bad magic, big-endian and unknown versions', () => {
    expect(() => Btf.parse(new Uint8Array(10))).toThrow(/needs 24 bytes, got 10/);
    const bad = valid().slice();
    bad[0] = 0;
    expect(() => Btf.parse(bad)).toThrow(/bad magic/);
    const be = valid().slice();
    be[0] = 0xeb;
    be[1] = 0x9f;
    expect(() => Btf.parse(be)).toThrow(/big-endian/);
    const v2 = valid().slice();
    v2[2] = 2;
    expect(() => Btf.parse(v2)).toThrow(/version 2/);
  });

  it('refuses sections that run past the end of the blob', () => {
    const buf = valid();
    expect(() => Btf.parse(buf.subarray(0, buf.byteLength - 1))).toThrow(/string section .* needs/);
    const dv = new DataView(buf.buffer.slice(0));
    dv.setUint32(12, 1000, true); // type_len
    expect(() => Btf.parse(new Uint8Array(dv.buffer))).toThrow(/type section/);
  });

  it('refuses a type cut in the middle and an unknown kind', () => {
    const b = new BtfBuilder();
    const u32 = int(b, 'u32', 4);
    b.add({ name: 's', kind: K.struct, vlen: 3, sizeOrType: 12, extra: [b.str('a'), u32, 0] }); // 2 members missing
    expect(() => Btf.parse(b.build())).toThrow(/type 2 \(struct\) at byte 16 of the type section needs 48 bytes, 24 left/);
    const c = new BtfBuilder();
    c.add({ name: 'x', kind: 25, sizeOrType: 0 });
    expect(() => Btf.parse(c.build())).toThrow(/type 1 has unknown kind 25/);
  });

  it('refuses out-of-range ids and string offsets, and typedef cycles', () => {
    const b = new BtfBuilder();
    b.add({ name: 'a', kind: K.typedef, sizeOrType: 2 });
    b.add({ name: 'b', kind: K.typedef, sizeOrType: 1 });
    b.add({ kind: K.int, sizeOrType: 4, extra: [32] });
    const blob = b.build();
    const btf = Btf.parse(blob);
    expect(() => btf.type(4)).toThrow(/out of range \(0\.\.3\)/);
    expect(() => btf.type(-1)).toThrow(/out of range/);
    expect(() => btf.resolve(1)).toThrow(/cycle/);
    // Point type 3's name past the string section.
    const dv = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
    dv.setUint32(24 + 24, 9999, true);
    expect(() => Btf.parse(blob).name(3)).toThrow(/string offset 9999/);
  });

  it('reports missing structs, members and non-struct paths by name', () => {
    const b = new BtfBuilder();
    const u32 = int(b, 'u32', 4);
    b.add({ name: 's', kind: K.struct, vlen: 1, sizeOrType: 4, extra: [b.str('a'), u32, 0] });
    b.add({ name: 'dup', kind: K.struct, vlen: 0, sizeOrType: 4 });
    b.add({ name: 'dup', kind: K.struct, vlen: 0, sizeOrType: 8 });
    const btf = Btf.parse(b.build());
    expect(() => btf.memberOffset('nope', ['a'])).toThrow(/no struct or union named 'nope'/);
    expect(() => btf.memberOffset('s', ['b'])).toThrow(/struct s has no member 'b'/);
    expect(() => btf.memberOffset('s', ['a', 'b'])).toThrow(/struct s\.a is a u32 \(int\), not a struct or union/);
    expect(() => btf.memberOffset('s', [])).toThrow(/at least one member/);
    expect(() => btf.struct('dup')).toThrow(/different sizes/);
    expect(() => btf.enum('s')).toThrow(/no enum named 's'/);
    expect(btf.find('s', 'union')).toBeUndefined();
    expect(btf.findIds('dup')).toHaveLength(2);
  });

  it('btfFromElf explains a missing .BTF section', () => {
    // A valid ELF64 LE header with only a null section and a name table.
    const elf = new Uint8Array(64 + 16 + 3 * 64);
    const dv = new DataView(elf.buffer);
    elf.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1], 0);
    dv.setBigUint64(0x28, 80n, true); // e_shoff
    dv.setUint16(0x3a, 64, true);
    dv.setUint16(0x3c, 2, true);
    dv.setUint16(0x3e, 1, true);
    elf.set([0, ...Buffer.from('.shstrtab'), 0], 64);
    const sh1 = 80 + 64;
    dv.setUint32(sh1, 1, true); // name ".shstrtab"
    dv.setUint32(sh1 + 4, 3, true); // SHT_STRTAB
    dv.setBigUint64(sh1 + 24, 64n, true);
    dv.setBigUint64(sh1 + 32, 11n, true);
    expect(readElfSections(elf).map((s) => s.name)).toEqual(['', '.shstrtab']);
    expect(() => btfFromElf(elf)).toThrow(/no \.BTF section/);
    const bad = elf.slice();
    bad[4] = 1;
    expect(() => readElfSections(bad)).toThrow(ElfError);
    expect(() => readElfSections(bad)).toThrow(/ELF64/);
    const be = elf.slice();
    be[5] = 2;
    expect(() => readElfSections(be)).toThrow(/little-endian/);
    const past = elf.slice();
    new DataView(past.buffer).setBigUint64(sh1 + 32, 5000n, true);
    expect(() => readElfSections(past)).toThrow(/section 1's data at offset 64 needs 5000 bytes/);
    expect(() => readElfSections(elf.subarray(0, 100))).toThrow(/section header 0 at offset 80 needs 64 bytes, the file has 100/);
    expect(() => readElfSections(new Uint8Array(4))).toThrow(/ELF header/);
  });
});
