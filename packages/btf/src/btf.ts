// The BTF reader. Parsing indexes the type section (one pass over 12-byte
// headers, no decoding); types are decoded on first use and cached. A lookup
// by name compares the name's bytes with the string at each type's name
// offset (no string decoded); after 16 distinct names the whole name index
// is built. A file (Btf.fromFile) is read on demand: that one pass streams
// the type section, everything else reads only the pages it needs
// (structs() streams the strings once; findIds() reads them all once).
import { BtfError } from './errors.js';
import { BtfKindId, kindNames, type BtfKind } from './kinds.js';
import { findMemberPath } from './members.js';
import type { PagedFile } from './paged-file.js';
import { StringTable } from './strings.js';
import { formatTypeName } from './type-name.js';
import { BTF_HEADER_MIN, type Header, readHeader, TYPE_HEADER, TypeScan } from './type-scan.js';
import type { BtfEnum, BtfEnum64, BtfMember, BtfStruct, BtfType, MemberLocation } from './types.js';

/** Longest typedef/modifier chain `resolve` follows before calling the BTF cyclic. */
const MAX_CHAIN = 64;
/** Pointer size assumed by sizeOf (BTF does not record it; every supported target is 64-bit). */
const POINTER_SIZE = 8;

const VOID: BtfType = Object.freeze({ kind: 'void', id: 0, name: '' });

/** Kinds that `resolve` looks through. */
const TRANSPARENT = new Set<number>([
  BtfKindId.typedef,
  BtfKindId.volatile,
  BtfKindId.const,
  BtfKindId.restrict,
  BtfKindId.type_tag,
]);

/** Targeted lookups by name before the whole name index is built (it costs as much as a few dozen of them). */
const TARGETED_LOOKUPS = 16;

export class Btf {
  /** BTF format version (1). */
  readonly version: number;
  readonly flags: number;
  /** Number of types; valid ids are 0 (void) to typeCount. */
  readonly typeCount: number;

  readonly #dv: DataView;
  readonly #offsets: Uint32Array;
  /** Name offsets by id (a file read on demand: they are not in memory). */
  readonly #nameOffs: Uint32Array | undefined;
  readonly #structIds: number[];
  /** End of the type section. */
  readonly #typeEnd: number;
  readonly #strings: StringTable;
  readonly #cache = new Map<number, BtfType>();
  readonly #pager: PagedFile | undefined;
  #names: Map<string, number | number[]> | undefined;
  #targeted = new Map<string, number[]>();

  private constructor(dv: DataView, h: Header, scan: TypeScan, strings: StringTable, pager?: PagedFile) {
    this.#dv = dv;
    this.version = h.version;
    this.flags = h.flags;
    this.#offsets = scan.offsets;
    this.#nameOffs = scan.nameOffs;
    this.#structIds = scan.structIds;
    this.#typeEnd = scan.end;
    this.typeCount = scan.n;
    this.#strings = strings;
    this.#pager = pager;
  }

  /** Parse a raw BTF blob (the contents of /sys/kernel/btf/vmlinux, or an ELF's .BTF section). The bytes are not copied. */
  static parse(data: Uint8Array): Btf {
    const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
    const h = readHeader(dv, data.byteLength);
    const strings = new StringTable(data.subarray(h.hdrLen + h.strOff, h.hdrLen + h.strOff + h.strLen));
    const scan = new TypeScan(h.hdrLen + h.typeOff, h.hdrLen + h.typeOff + h.typeLen, false);
    scan.piece(data, 0, true);
    return new Btf(dv, h, scan, strings);
  }

  /**
   * A raw BTF file read on demand (see PagedFile): one pass over the type
   * section's headers now; types and names are read from the file when
   * first asked for. The file must not change while the Btf is in use
   * (/sys/kernel/btf/vmlinux never does).
   */
  static fromFile(pager: PagedFile): Btf {
    const size = pager.byteLength;
    pager.ensure(0, BTF_HEADER_MIN);
    const dv = new DataView(pager.bytes.buffer, pager.bytes.byteOffset, size);
    const h = readHeader(dv, size);
    const at = h.hdrLen + h.strOff;
    const strings = new StringTable(pager.bytes.subarray(at, at + h.strLen), { pager, at });
    const scan = new TypeScan(h.hdrLen + h.typeOff, h.hdrLen + h.typeOff + h.typeLen, true);
    if (h.typeLen > 0) pager.stream(scan.start, h.typeLen, TYPE_HEADER, (piece, pos, last) => scan.piece(piece, pos, last));
    return new Btf(dv, h, scan, strings, pager);
  }

  /** Bytes of type `id` (header and what follows), read from the file first when it is read on demand. */
  #load(id: number, p: number): void {
    if (!this.#pager) return;
    const next = id < this.typeCount ? (this.#offsets[id + 1] as number) : this.#typeEnd;
    this.#pager.ensure(p, next - p);
  }

  #nameOff(id: number): number {
    if (this.#nameOffs) return this.#nameOffs[id] as number;
    return this.#dv.getUint32(this.#offsets[id] as number, true);
  }

  #check(id: number): number {
    if (!Number.isInteger(id) || id < 0 || id > this.typeCount) {
      throw new BtfError(`BTF: type id ${id} is out of range (0..${this.typeCount})`);
    }
    return this.#offsets[id] as number;
  }

  /** The kind of type `id`, without decoding it. */
  kind(id: number): BtfKind {
    if (id === 0) return 'void';
    const p = this.#check(id);
    this.#pager?.ensure(p, TYPE_HEADER);
    return kindNames[(this.#dv.getUint32(p + 4, true) >>> 24) & 0x1f] as BtfKind;
  }

  /** The name of type `id`, without decoding it ('' when anonymous). */
  name(id: number): string {
    if (id === 0) return '';
    this.#check(id);
    return this.#strings.get(this.#nameOff(id));
  }

  /** Type `id`, decoded (and cached). */
  type(id: number): BtfType {
    if (id === 0) return VOID;
    const cached = this.#cache.get(id);
    if (cached) return cached;
    const p = this.#check(id);
    this.#load(id, p);
    const t = Object.freeze(this.#decode(id, p));
    this.#cache.set(id, t);
    return t;
  }

  /** Every type but void, in id order. */
  *types(): IterableIterator<BtfType> {
    for (let id = 1; id <= this.typeCount; id++) yield this.type(id);
  }

  #decode(id: number, p: number): BtfType {
    const dv = this.#dv;
    const s = this.#strings;
    const name = s.get(dv.getUint32(p, true));
    const info = dv.getUint32(p + 4, true);
    const kind = (info >>> 24) & 0x1f;
    const vlen = info & 0xffff;
    const kindFlag = info >>> 31 === 1;
    const sizeOrType = dv.getUint32(p + 8, true);
    const q = p + TYPE_HEADER;
    switch (kind) {
      case BtfKindId.int: {
        const enc = dv.getUint32(q, true);
        const e = (enc >>> 24) & 0x0f;
        return { kind: 'int', id, name, size: sizeOrType, bits: enc & 0xff, bitOffset: (enc >>> 16) & 0xff, signed: (e & 1) !== 0, char: (e & 2) !== 0, bool: (e & 4) !== 0 };
      }
      case BtfKindId.ptr:
      case BtfKindId.typedef:
      case BtfKindId.volatile:
      case BtfKindId.const:
      case BtfKindId.restrict:
      case BtfKindId.type_tag:
        return { kind: kindNames[kind] as 'ptr', id, name, type: sizeOrType };
      case BtfKindId.array:
        return { kind: 'array', id, name, type: dv.getUint32(q, true), indexType: dv.getUint32(q + 4, true), nelems: dv.getUint32(q + 8, true) };
      case BtfKindId.struct:
      case BtfKindId.union: {
        const members: BtfMember[] = new Array(vlen);
        for (let i = 0; i < vlen; i++) {
          const m = q + 12 * i;
          const off = dv.getUint32(m + 8, true);
          members[i] = {
            name: s.get(dv.getUint32(m, true)),
            type: dv.getUint32(m + 4, true),
            bitOffset: kindFlag ? off & 0xffffff : off,
            bitSize: kindFlag ? off >>> 24 : 0,
          };
        }
        return { kind: kind === BtfKindId.struct ? 'struct' : 'union', id, name, size: sizeOrType, kindFlag, members };
      }
      case BtfKindId.enum: {
        const values = new Array<{ name: string; value: number }>(vlen);
        for (let i = 0; i < vlen; i++) {
          const v = q + 8 * i;
          values[i] = { name: s.get(dv.getUint32(v, true)), value: kindFlag ? dv.getInt32(v + 4, true) : dv.getUint32(v + 4, true) };
        }
        return { kind: 'enum', id, name, size: sizeOrType, signed: kindFlag, values };
      }
      case BtfKindId.enum64: {
        const values = new Array<{ name: string; value: bigint }>(vlen);
        for (let i = 0; i < vlen; i++) {
          const v = q + 12 * i;
          const u = (BigInt(dv.getUint32(v + 8, true)) << 32n) | BigInt(dv.getUint32(v + 4, true));
          values[i] = { name: s.get(dv.getUint32(v, true)), value: kindFlag ? BigInt.asIntN(64, u) : u };
        }
        return { kind: 'enum64', id, name, size: sizeOrType, signed: kindFlag, values };
      }
      case BtfKindId.fwd:
        return { kind: 'fwd', id, name, union: kindFlag };
      case BtfKindId.func:
        return { kind: 'func', id, name, type: sizeOrType, linkage: vlen };
      case BtfKindId.func_proto: {
        const params = new Array<{ name: string; type: number }>(vlen);
        for (let i = 0; i < vlen; i++) {
          const v = q + 8 * i;
          params[i] = { name: s.get(dv.getUint32(v, true)), type: dv.getUint32(v + 4, true) };
        }
        const last = params[vlen - 1];
        return { kind: 'func_proto', id, name, returnType: sizeOrType, params, variadic: last !== undefined && last.type === 0 };
      }
      case BtfKindId.var:
        return { kind: 'var', id, name, type: sizeOrType, linkage: dv.getUint32(q, true) };
      case BtfKindId.datasec: {
        const vars = new Array<{ type: number; offset: number; size: number }>(vlen);
        for (let i = 0; i < vlen; i++) {
          const v = q + 12 * i;
          vars[i] = { type: dv.getUint32(v, true), offset: dv.getUint32(v + 4, true), size: dv.getUint32(v + 8, true) };
        }
        return { kind: 'datasec', id, name, size: sizeOrType, vars };
      }
      case BtfKindId.float:
        return { kind: 'float', id, name, size: sizeOrType };
      case BtfKindId.decl_tag:
        return { kind: 'decl_tag', id, name, type: sizeOrType, componentIdx: dv.getInt32(q, true) };
      default:
        throw new BtfError(`BTF: type ${id} has unknown kind ${kind}`);
    }
  }

  #nameIndex(): Map<string, number | number[]> {
    if (this.#names) return this.#names;
    const names = new Map<string, number | number[]>();
    for (let id = 1; id <= this.typeCount; id++) {
      const off = this.#nameOff(id);
      if (off === 0) continue;
      const name = this.#strings.get(off);
      const prev = names.get(name);
      if (prev === undefined) names.set(name, id);
      else if (typeof prev === 'number') names.set(name, [prev, id]);
      else prev.push(id);
    }
    this.#names = names;
    this.#targeted.clear();
    return names;
  }

  /** Ids of every type named `name`: its bytes compared with the string at each type's name offset (no string decoded). */
  #idsNamed(name: string): number[] {
    const want = new TextEncoder().encode(name);
    const bytes = this.#strings.whole();
    const len = want.length;
    const out: number[] = [];
    for (let id = 1; id <= this.typeCount; id++) {
      const off = this.#nameOff(id);
      if (off === 0) continue;
      if (off >= bytes.length) this.#strings.get(off); // throws: outside the string section
      if (bytes[off + len] !== 0) continue;
      let j = 0;
      while (j < len && bytes[off + j] === want[j]) j++;
      if (j === len) out.push(id);
    }
    return out;
  }

  /** Ids of every type named `name` (of `kind`, if given), in id order. */
  findIds(name: string, kind?: BtfKind): number[] {
    let ids: number[];
    if (this.#names || this.#targeted.size >= TARGETED_LOOKUPS) {
      const hit = this.#nameIndex().get(name);
      ids = hit === undefined ? [] : typeof hit === 'number' ? [hit] : hit.slice();
    } else {
      let hit = this.#targeted.get(name);
      if (!hit) this.#targeted.set(name, (hit = this.#idsNamed(name)));
      ids = hit.slice();
    }
    return kind === undefined ? ids : ids.filter((id) => this.kind(id) === kind);
  }

  /** The first type named `name` (of `kind`, if given), or undefined. */
  find(name: string, kind?: BtfKind): BtfType | undefined {
    const id = this.findIds(name, kind)[0];
    return id === undefined ? undefined : this.type(id);
  }

  /**
   * The struct or union called `name`. Throws when there is none, or when the
   * name is used by several complete structs/unions of different sizes
   * (BTF dedup failed to merge them and the answer would be a guess).
   */
  struct(name: string): BtfStruct {
    const hits = this.findIds(name)
      .map((id) => this.type(id))
      .filter((t): t is BtfStruct => t.kind === 'struct' || t.kind === 'union');
    const first = hits[0];
    if (!first) throw new BtfError(`BTF: no struct or union named '${name}'`);
    if (hits.some((t) => t.size !== first.size)) {
      throw new BtfError(`BTF: '${name}' names ${hits.length} structs/unions of different sizes (ids ${hits.map((t) => t.id).join(', ')})`);
    }
    return first;
  }

  /**
   * The structs or unions named in `names` (each as struct() would give it),
   * found by one pass over the strings and the name offsets when the name
   * index is not built yet: a few structs out of a kernel's 100 000+ types
   * cost a fraction of the index.
   */
  structs(names: readonly string[]): Map<string, BtfStruct> {
    if (this.#names) return new Map(names.map((n) => [n, this.struct(n)]));
    // The name offsets of the named structs and unions, sorted; one pass over
    // the strings says which of them hold a wanted name; then the ids.
    const ids = this.#structIds;
    const offs = new Uint32Array(ids.length);
    let named = 0;
    for (const id of ids) {
      const off = this.#nameOff(id);
      if (off !== 0) offs[named++] = off;
    }
    const sorted = offs.subarray(0, named).sort();
    const nameAt = new Map<number, string>();
    this.#strings.matchAt(sorted, names, (off, name) => nameAt.set(off, name));
    const byName = new Map<string, number[]>(names.map((n) => [n, []]));
    for (const id of ids) {
      const name = nameAt.get(this.#nameOff(id));
      if (name !== undefined) byName.get(name)!.push(id);
    }
    const out = new Map<string, BtfStruct>();
    for (const [name, hits] of byName) {
      const found = hits.map((id) => this.type(id) as BtfStruct);
      const first = found[0];
      if (!first) throw new BtfError(`BTF: no struct or union named '${name}'`);
      if (found.some((t) => t.size !== first.size)) {
        throw new BtfError(`BTF: '${name}' names ${found.length} structs/unions of different sizes (ids ${found.map((t) => t.id).join(', ')})`);
      }
      out.set(name, first);
    }
    return out;
  }

  /** The enum (or enum64) called `name`; throws when there is none. */
  enum(name: string): BtfEnum | BtfEnum64 {
    for (const id of this.findIds(name)) {
      const t = this.type(id);
      if (t.kind === 'enum' || t.kind === 'enum64') return t;
    }
    throw new BtfError(`BTF: no enum named '${name}'`);
  }

  /** The id behind typedefs, const/volatile/restrict and type tags. */
  resolve(id: number): number {
    let cur = id;
    for (let i = 0; i < MAX_CHAIN; i++) {
      if (cur === 0) return 0;
      const p = this.#check(cur);
      this.#pager?.ensure(p, TYPE_HEADER);
      const info = this.#dv.getUint32(p + 4, true);
      if (!TRANSPARENT.has((info >>> 24) & 0x1f)) return cur;
      cur = this.#dv.getUint32(p + 8, true);
    }
    throw new BtfError(`BTF: type ${id} has a typedef/modifier chain longer than ${MAX_CHAIN} (a cycle?)`);
  }

  /** sizeof(type `id`) in bytes, as C would say (pointers are 8 bytes). */
  sizeOf(id: number): number {
    let mult = 1;
    let cur = id;
    for (let depth = 0; depth < MAX_CHAIN; depth++) {
      const t = this.type(this.resolve(cur));
      switch (t.kind) {
        case 'int':
        case 'enum':
        case 'enum64':
        case 'struct':
        case 'union':
        case 'float':
        case 'datasec':
          return mult * t.size;
        case 'ptr':
          return mult * POINTER_SIZE;
        case 'array':
          mult *= t.nelems;
          cur = t.type;
          continue;
        case 'var':
          cur = t.type;
          continue;
        default:
          throw new BtfError(`BTF: type ${id} (${t.kind}${t.name ? ` ${t.name}` : ''}) has no size`);
      }
    }
    throw new BtfError(`BTF: type ${id} nests arrays deeper than ${MAX_CHAIN}`);
  }

  /**
   * Where a (possibly nested) member lives in a struct. `path` names one
   * member per level; members of anonymous structs and unions are found
   * through them, as in C: memberOffset('sock', ['__sk_common', 'skc_dport'])
   * is offsetof(struct sock, __sk_common.skc_dport).
   */
  memberOffset(struct: string | number, path: readonly string[]): MemberLocation {
    const id = typeof struct === 'number' ? struct : this.struct(struct).id;
    return findMemberPath(this, id, path);
  }

  /** A C-like spelling of type `id` ('struct sock *', 'unsigned int [4]', '__u32'). */
  typeName(id: number): string {
    return formatTypeName(this, id);
  }
}
