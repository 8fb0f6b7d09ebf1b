// The BTF string section: NUL-terminated names addressed by byte offset.
// A name is decoded when asked for, alone (the section is 2.3 MB in a
// kernel; a lookup needs a few hundred names of it). In a file read on
// demand (PagedFile), only the pages holding the names asked for are read.
import { BtfError } from './errors.js';
import type { PagedFile } from './paged-file.js';

const utf8 = new TextDecoder();
const PAGE = 4096;

export class StringTable {
  readonly #bytes: Uint8Array;
  /** Where the section starts in the file, when it is read on demand. */
  readonly #file: { pager: PagedFile; at: number } | undefined;

  constructor(bytes: Uint8Array, file?: { pager: PagedFile; at: number }) {
    this.#file = file;
    if (bytes.byteLength > 0) {
      file?.pager.ensure(file.at, 1);
      file?.pager.ensure(file.at + bytes.byteLength - 1, 1);
      if (bytes[0] !== 0 || bytes[bytes.byteLength - 1] !== 0) {
        throw new BtfError('BTF: the string section must start and end with a NUL byte');
      }
    }
    this.#bytes = bytes;
  }

  get byteLength(): number {
    return this.#bytes.byteLength;
  }

  /** The string at byte offset `off` ('' for 0). */
  get(off: number): string {
    if (off === 0) return '';
    const b = this.#bytes;
    if (off >= b.byteLength) {
      throw new BtfError(`BTF: string offset ${off} is outside the ${b.byteLength}-byte string section`);
    }
    let end: number;
    if (this.#file) {
      // Page by page until the NUL (pages not read yet are zeros: never search them).
      const { pager, at } = this.#file;
      let from = off;
      for (;;) {
        const to = Math.min(b.byteLength, (Math.floor((at + from) / PAGE) + 1) * PAGE - at);
        pager.ensure(at + from, to - from);
        const i = b.subarray(from, to).indexOf(0);
        if (i >= 0) {
          end = from + i;
          break;
        }
        from = to;
      }
    } else {
      end = b.indexOf(0, off);
    }
    return utf8.decode(b.subarray(off, end));
  }

  /**
   * The section in pieces overlapping by `keep` bytes (the whole section at
   * once when it is in memory); `base`: the section offset of piece[0].
   */
  pieces(keep: number, fn: (piece: Uint8Array, base: number, last: boolean) => void): void {
    if (this.#bytes.byteLength === 0) return;
    if (!this.#file) return fn(this.#bytes, 0, true);
    const { pager, at } = this.#file;
    pager.stream(at, this.#bytes.byteLength, keep, (piece, pos, last) => fn(piece, pos - at, last));
  }

  /**
   * Which of `names` is the string at each of `offs` (ascending, repeats
   * allowed), by one pass over the section: `hit(off, name)` for each match.
   */
  matchAt(offs: Uint32Array, names: readonly string[], hit: (off: number, name: string) => void): void {
    const wanted = names.map((n) => ({ name: n, bytes: new TextEncoder().encode(n) }));
    if (!wanted.length || !offs.length) return;
    const keep = Math.max(...wanted.map((w) => w.bytes.length)) + 1;
    // By first byte: most strings start with none of the wanted names' first bytes.
    const byFirst: (typeof wanted)[] = [];
    for (const w of wanted) (byFirst[w.bytes[0] ?? 0] ??= []).push(w);
    let i = 0;
    this.pieces(keep, (piece, base, last) => {
      const limit = base + (last ? piece.length : piece.length - keep);
      for (; i < offs.length; i++) {
        const off = offs[i] as number;
        if (off >= limit) return;
        const r = off - base;
        const list = byFirst[piece[r] as number];
        if (list === undefined) continue;
        for (const w of list) {
          const b = w.bytes;
          if (r + b.length >= piece.length || piece[r + b.length] !== 0) continue;
          let j = 1;
          while (j < b.length && piece[r + j] === b[j]) j++;
          if (j === b.length) hit(off, w.name);
        }
      }
    });
  }

  /** The whole section, every page of it read (for lookups that compare many names). */
  whole(): Uint8Array {
    if (this.#file) this.#file.pager.ensure(this.#file.at, this.#bytes.byteLength);
    return this.#bytes;
  }
}
