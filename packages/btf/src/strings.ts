// The BTF string section: NUL-terminated names addressed by byte offset.
// Decoded once, lazily, into one JS string; when the section is pure ASCII
// (as kernel and clang BTF are) a name is a slice of it.
import { BtfError } from './errors.js';

const utf8 = new TextDecoder();
const NON_ASCII = /[^\x00-\x7f]/;

export class StringTable {
  readonly #bytes: Uint8Array;
  #text: string | undefined;
  #ascii = false;

  constructor(bytes: Uint8Array) {
    if (bytes.byteLength > 0 && (bytes[0] !== 0 || bytes[bytes.byteLength - 1] !== 0)) {
      throw new BtfError('BTF: the string section must start and end with a NUL byte');
    }
    this.#bytes = bytes;
  }

  get byteLength(): number {
    return this.#bytes.byteLength;
  }

  /** Whether the string at byte offset `off` is `name` (its bytes, NUL-less), without decoding the table. */
  is(off: number, name: Uint8Array): boolean {
    const b = this.#bytes;
    if (off + name.length >= b.byteLength || b[off + name.length] !== 0) return false;
    for (let i = 0; i < name.length; i++) if (b[off + i] !== name[i]) return false;
    return true;
  }

  /** The string at byte offset `off` ('' for 0). */
  get(off: number): string {
    if (off === 0) return '';
    if (off >= this.#bytes.byteLength) {
      throw new BtfError(`BTF: string offset ${off} is outside the ${this.#bytes.byteLength}-byte string section`);
    }
    if (this.#text === undefined) {
      this.#text = utf8.decode(this.#bytes);
      this.#ascii = !NON_ASCII.test(this.#text);
    }
    if (this.#ascii) return this.#text.slice(off, this.#text.indexOf('\0', off));
    const end = this.#bytes.indexOf(0, off);
    return utf8.decode(this.#bytes.subarray(off, end));
  }
}
