// The BTF header and the one pass over the type section that Btf is built
// on: where each type starts (and its name offset, for a file read on
// demand), from the 12-byte headers alone, fed in pieces.
import { BtfError } from './errors.js';
import { uninitialised } from './paged-file.js';
import { BtfKindId, extraBytes, kindNames } from './kinds.js';

const BTF_MAGIC = 0xeb9f;
export const BTF_HEADER_MIN = 24;
export const TYPE_HEADER = 12;

export interface Header {
  version: number;
  flags: number;
  hdrLen: number;
  typeOff: number;
  typeLen: number;
  strOff: number;
  strLen: number;
}

/** The BTF header of a blob of `size` bytes (the first `hdrLen` bytes of `dv`), its sections checked against the size. */
export function readHeader(dv: DataView, size: number): Header {
  if (size < BTF_HEADER_MIN) {
    throw new BtfError(`BTF: the header needs ${BTF_HEADER_MIN} bytes, got ${size}`);
  }
  const magic = dv.getUint16(0, true);
  if (magic !== BTF_MAGIC) {
    if (magic === 0x9feb) throw new BtfError('BTF: big-endian BTF is not supported');
    throw new BtfError(`BTF: bad magic 0x${magic.toString(16).padStart(4, '0')} (want 0xeb9f)`);
  }
  const version = dv.getUint8(2);
  if (version !== 1) throw new BtfError(`BTF: unsupported version ${version}`);
  const h = {
    version,
    flags: dv.getUint8(3),
    hdrLen: dv.getUint32(4, true),
    typeOff: dv.getUint32(8, true),
    typeLen: dv.getUint32(12, true),
    strOff: dv.getUint32(16, true),
    strLen: dv.getUint32(20, true),
  };
  if (h.hdrLen < BTF_HEADER_MIN) throw new BtfError(`BTF: header length ${h.hdrLen} < ${BTF_HEADER_MIN}`);
  const section = (name: string, off: number, len: number): void => {
    if (h.hdrLen + off + len > size) {
      throw new BtfError(`BTF: the ${name} section (${len} bytes at ${h.hdrLen + off}) needs ${h.hdrLen + off + len} bytes, the blob has ${size}`);
    }
  };
  section('type', h.typeOff, h.typeLen);
  section('string', h.strOff, h.strLen);
  if (h.typeOff % 4 !== 0) throw new BtfError(`BTF: the type section offset ${h.typeOff} is not 4-aligned`);
  return h;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
/** extraBytes(kind, vlen) = FIXED_EXTRA[kind] + PER_VLEN[kind] * vlen (-1 + 0: unknown kind), for the scan's hot loop. */
const FIXED_EXTRA = Int32Array.from({ length: 32 }, (_, k) => (extraBytes(k, 0) < 0 ? -1 : extraBytes(k, 0)));
const PER_VLEN = Int32Array.from({ length: 32 }, (_, k) => (extraBytes(k, 0) < 0 ? 0 : extraBytes(k, 1) - extraBytes(k, 0)));

/**
 * The one pass over the type section: where each type starts (and, for a
 * file read on demand, its name offset), from the 12-byte headers alone.
 * Fed the section in pieces (`piece`), each overlapping the next by a header.
 */
export class TypeScan {
  n = 0;
  p: number;
  readonly offsets: Uint32Array;
  readonly nameOffs: Uint32Array | undefined;
  /** Ids of the structs and unions (for structs()). */
  readonly structIds: number[] = [];

  constructor(
    readonly start: number,
    readonly end: number,
    withNames: boolean,
  ) {
    this.p = start;
    const cap = Math.floor((end - start) / TYPE_HEADER) + 1;
    // Uninitialised (a memset of these 2 MB cost more than the scan that
    // fills them); entries past the last type are never read, 0 (void) is set.
    const words = (): Uint32Array => {
      const u = uninitialised(cap * 4);
      const a = new Uint32Array(u.buffer, u.byteOffset, cap);
      a[0] = 0;
      return a;
    };
    this.offsets = words();
    this.nameOffs = withNames ? words() : undefined;
  }

  /** Bytes [pos, pos + bytes.length) of the blob; `last`: they reach the section's end. */
  piece(bytes: Uint8Array, pos: number, last: boolean): void {
    const { start, end, offsets, nameOffs } = this;
    const pieceEnd = pos + bytes.byteLength;
    // The section is 4-aligned and so is every piece: read it as words where the host is little-endian (x86, arm64).
    const words = LITTLE_ENDIAN && (bytes.byteOffset & 3) === 0 && ((pos - start) & 3) === 0 ? new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength >>> 2) : undefined;
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    let p = this.p;
    let n = this.n;
    while (p < end) {
      if (p + TYPE_HEADER > end) {
        throw new BtfError(`BTF: type ${n + 1} at byte ${p - start} of the type section needs ${TYPE_HEADER} bytes, ${end - p} left`);
      }
      if (p + TYPE_HEADER > pieceEnd && !last) break;
      const w = (p - pos) >>> 2;
      // info's bytes, not the word: a word with the kind_flag set is no small integer (a heap number, garbage, per type).
      const q = p - pos + 4;
      const kind = (bytes[q + 3] as number) & 0x1f;
      const extra = (FIXED_EXTRA[kind] as number) + (PER_VLEN[kind] as number) * ((bytes[q] as number) | ((bytes[q + 1] as number) << 8));
      if (extra < 0) throw new BtfError(`BTF: type ${n + 1} has unknown kind ${kind}`);
      if (p + TYPE_HEADER + extra > end) {
        throw new BtfError(
          `BTF: type ${n + 1} (${kindNames[kind]}) at byte ${p - start} of the type section needs ${TYPE_HEADER + extra} bytes, ${end - p} left`,
        );
      }
      offsets[++n] = p;
      if (kind === BtfKindId.struct || kind === BtfKindId.union) this.structIds.push(n);
      if (nameOffs) nameOffs[n] = words ? (words[w] as number) : dv.getUint32(p - pos, true);
      p += TYPE_HEADER + extra;
    }
    this.p = p;
    this.n = n;
  }
}
