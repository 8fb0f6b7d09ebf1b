// A tiny BTF writer for tests: builds blobs the compilers never emit
// (old-style int bitfields, cycles, unknown kinds, truncations).
export interface RawType {
  name?: string;
  kind: number;
  vlen?: number;
  kindFlag?: boolean;
  sizeOrType: number;
  /** u32 words that follow the 12-byte header. */
  extra?: number[];
}

export class BtfBuilder {
  readonly #strings: string[] = [''];
  readonly #types: RawType[] = [];

  /** Offset of `s` in the string section (added if new). */
  str(s: string): number {
    let off = 0;
    for (const x of this.#strings) {
      if (x === s) return off;
      off += Buffer.byteLength(x) + 1;
    }
    this.#strings.push(s);
    return off;
  }

  /** Add a type; returns its id. */
  add(t: RawType): number {
    this.#types.push(t);
    return this.#types.length;
  }

  build(): Uint8Array {
    const words: number[] = [];
    for (const t of this.#types) {
      words.push(t.name ? this.str(t.name) : 0);
      words.push(((t.kindFlag ? 1 : 0) << 31) | (t.kind << 24) | (t.vlen ?? 0));
      words.push(t.sizeOrType);
      words.push(...(t.extra ?? []));
    }
    const strBytes = Buffer.from(this.#strings.map((s) => `${s}\0`).join(''));
    const typeLen = words.length * 4;
    const out = Buffer.alloc(24 + typeLen + strBytes.length);
    out.writeUInt16LE(0xeb9f, 0);
    out.writeUInt8(1, 2);
    out.writeUInt8(0, 3);
    out.writeUInt32LE(24, 4);
    out.writeUInt32LE(0, 8);
    out.writeUInt32LE(typeLen, 12);
    out.writeUInt32LE(typeLen, 16);
    out.writeUInt32LE(strBytes.length, 20);
    words.forEach((w, i) => out.writeUInt32LE(w >>> 0, 24 + 4 * i));
    strBytes.copy(out, 24 + typeLen);
    return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
  }
}
