// The BTF reader. Parsing indexes the type section (one pass over 12-byte
// headers, no decoding); types are decoded on first use and cached, and the
// name index is built on the first lookup by name.
import { BtfError } from './errors.js';
import { BtfKindId, extraBytes, kindNames, type BtfKind } from './kinds.js';
import { findMemberPath } from './members.js';
import { StringTable } from './strings.js';
import { formatTypeName } from './type-name.js';
import type { BtfEnum, BtfEnum64, BtfMember, BtfStruct, BtfType, MemberLocation } from './types.js';

const BTF_MAGIC = 0xeb9f;
const BTF_HEADER_MIN = 24;
const TYPE_HEADER = 12;
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

export class Btf {
  /** BTF format version (1). */
  readonly version: number;
  readonly flags: number;
  /** Number of types; valid ids are 0 (void) to typeCount. */
  readonly typeCount: number;

  readonly #dv: DataView;
  readonly #offsets: Uint32Array;
  readonly #strings: StringTable;
  readonly #cache: (BtfType | undefined)[];
  #names: Map<string, number | number[]> | undefined;

  private constructor(dv: DataView, version: number, flags: number, offsets: Uint32Array, count: number, strings: StringTable) {
    this.#dv = dv;
    this.version = version;
    this.flags = flags;
    this.#offsets = offsets;
    this.typeCount = count;
    this.#strings = strings;
    this.#cache = new Array<BtfType | undefined>(count + 1);
  }

  /** Parse a raw BTF blob (the contents of /sys/kernel/btf/vmlinux, or an ELF's .BTF section). The bytes are not copied. */
  static parse(data: Uint8Array): Btf {
    if (data.byteLength < BTF_HEADER_MIN) {
      throw new BtfError(`BTF: the header needs ${BTF_HEADER_MIN} bytes, got ${data.byteLength}`);
    }
    const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
    const magic = dv.getUint16(0, true);
    if (magic !== BTF_MAGIC) {
      if (magic === 0x9feb) throw new BtfError('BTF: big-endian BTF is not supported');
      throw new BtfError(`BTF: bad magic 0x${magic.toString(16).padStart(4, '0')} (want 0xeb9f)`);
    }
    const version = dv.getUint8(2);
    if (version !== 1) throw new BtfError(`BTF: unsupported version ${version}`);
    const flags = dv.getUint8(3);
    const hdrLen = dv.getUint32(4, true);
    const typeOff = dv.getUint32(8, true);
    const typeLen = dv.getUint32(12, true);
    const strOff = dv.getUint32(16, true);
    const strLen = dv.getUint32(20, true);
    if (hdrLen < BTF_HEADER_MIN) throw new BtfError(`BTF: header length ${hdrLen} < ${BTF_HEADER_MIN}`);
    const section = (name: string, off: number, len: number): void => {
      if (hdrLen + off + len > data.byteLength) {
        throw new BtfError(`BTF: the ${name} section (${len} bytes at ${hdrLen + off}) needs ${hdrLen + off + len} bytes, the blob has ${data.byteLength}`);
      }
    };
    section('type', typeOff, typeLen);
    section('string', strOff, strLen);
    if (typeOff % 4 !== 0) throw new BtfError(`BTF: the type section offset ${typeOff} is not 4-aligned`);
    const strings = new StringTable(data.subarray(hdrLen + strOff, hdrLen + strOff + strLen));

    const start = hdrLen + typeOff;
    const end = start + typeLen;
    const offsets = new Uint32Array(Math.floor(typeLen / TYPE_HEADER) + 1);
    let n = 0;
    let p = start;
    while (p < end) {
      if (p + TYPE_HEADER > end) {
        throw new BtfError(`BTF: type ${n + 1} at byte ${p - start} of the type section needs ${TYPE_HEADER} bytes, ${end - p} left`);
      }
      const info = dv.getUint32(p + 4, true);
      const kind = (info >>> 24) & 0x1f;
      const extra = extraBytes(kind, info & 0xffff);
      if (extra < 0) throw new BtfError(`BTF: type ${n + 1} has unknown kind ${kind}`);
      if (p + TYPE_HEADER + extra > end) {
        throw new BtfError(
          `BTF: type ${n + 1} (${kindNames[kind]}) at byte ${p - start} of the type section needs ${TYPE_HEADER + extra} bytes, ${end - p} left`,
        );
      }
      offsets[++n] = p;
      p += TYPE_HEADER + extra;
    }
    return new Btf(dv, version, flags, offsets, n, strings);
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
    return kindNames[(this.#dv.getUint32(p + 4, true) >>> 24) & 0x1f] as BtfKind;
  }

  /** The name of type `id`, without decoding it ('' when anonymous). */
  name(id: number): string {
    if (id === 0) return '';
    return this.#strings.get(this.#dv.getUint32(this.#check(id), true));
  }

  /** Type `id`, decoded (and cached). */
  type(id: number): BtfType {
    if (id === 0) return VOID;
    const cached = this.#cache[id];
    if (cached) return cached;
    const t = Object.freeze(this.#decode(id, this.#check(id)));
    this.#cache[id] = t;
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
    const dv = this.#dv;
    for (let id = 1; id <= this.typeCount; id++) {
      const off = dv.getUint32(this.#offsets[id] as number, true);
      if (off === 0) continue;
      const name = this.#strings.get(off);
      const prev = names.get(name);
      if (prev === undefined) names.set(name, id);
      else if (typeof prev === 'number') names.set(name, [prev, id]);
      else prev.push(id);
    }
    this.#names = names;
    return names;
  }

  /** Ids of every type named `name` (of `kind`, if given), in id order. */
  findIds(name: string, kind?: BtfKind): number[] {
    const hit = this.#nameIndex().get(name);
    const ids = hit === undefined ? [] : typeof hit === 'number' ? [hit] : hit.slice();
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
   * found by one pass over the struct and union types when the name index
   * is not built yet: a few structs out of a kernel's 100 000+ types cost a
   * fraction of the index.
   */
  structs(names: readonly string[]): Map<string, BtfStruct> {
    if (this.#names) return new Map(names.map((n) => [n, this.struct(n)]));
    const hits = new Map<string, number[]>(names.map((n) => [n, []]));
    const wanted = names.map((n) => ({ bytes: new TextEncoder().encode(n), ids: hits.get(n)! }));
    const dv = this.#dv;
    for (let id = 1; id <= this.typeCount; id++) {
      const p = this.#offsets[id] as number;
      const kind = (dv.getUint32(p + 4, true) >>> 24) & 0x1f;
      if (kind !== BtfKindId.struct && kind !== BtfKindId.union) continue;
      const off = dv.getUint32(p, true);
      if (off === 0) continue;
      for (const w of wanted) if (this.#strings.is(off, w.bytes)) w.ids.push(id);
    }
    const out = new Map<string, BtfStruct>();
    for (const [name, ids] of hits) {
      const found = ids.map((id) => this.type(id) as BtfStruct);
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
