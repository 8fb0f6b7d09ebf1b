// A file read on demand, page by page, into one file-sized buffer. Reading
// all of /sys/kernel/btf/vmlinux (5.5 MB) costs little in syscalls but a
// page fault per 4 KiB of fresh memory (about 25 ms on the development VM);
// a few struct lookups need a few dozen pages of it. The buffer is allocated
// uninitialised (the kernel maps its pages on first touch), so pages never
// read cost nothing: zeroed, it cost a memset of all 5.5 MB (13 ms here)
// whenever malloc served it from its heap rather than a fresh mapping, as it
// does after the first such buffer is freed (glibc's mmap threshold moves up). `stream` reads a range through one small reused buffer,
// for passes that look at every byte once and keep little.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { BtfError } from './errors.js';

const PAGE = 4096;
/** The reused buffer of `stream` (sysfs hands out at most a page per read). */
const STREAM_CHUNK = 64 * 1024;

const closer = new FinalizationRegistry<number>((fd) => {
  try {
    closeSync(fd);
  } catch {
    // Already closed: nothing is left to release.
  }
});

function ioError(op: string, path: string, e: unknown): BtfError {
  const code = (e as { code?: string }).code ?? 'EIO';
  return new BtfError(`BTF: ${op} ${path}: ${code} (${(e as Error).message})`, { cause: e });
}

/** `size` bytes of fresh memory, not zeroed: a Buffer's own (unpooled) ArrayBuffer, as a plain Uint8Array. */
export function uninitialised(size: number): Uint8Array {
  const b = Buffer.allocUnsafeSlow(size);
  return new Uint8Array(b.buffer, b.byteOffset, size);
}

export class PagedFile {
  readonly path: string;
  /** The file's bytes; only pages passed to `ensure` hold them, the rest are undefined (never read them). */
  readonly bytes: Uint8Array;
  readonly #loaded: Uint8Array;
  #left: number;
  #fd: number | undefined;
  readonly #token = {};

  private constructor(path: string, fd: number, size: number) {
    this.path = path;
    this.#fd = fd;
    this.bytes = uninitialised(size);
    this.#loaded = new Uint8Array(Math.ceil(size / PAGE));
    this.#left = this.#loaded.length;
    closer.register(this, fd, this.#token);
  }

  /** Opens `path`; undefined when the file reports no size (then read it whole). */
  static open(path: string): PagedFile | undefined {
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch (e) {
      throw ioError('open', path, e);
    }
    let size: number;
    try {
      size = fstatSync(fd).size;
    } catch (e) {
      closeSync(fd);
      throw ioError('fstat', path, e);
    }
    if (size === 0) {
      closeSync(fd);
      return undefined;
    }
    return new PagedFile(path, fd, size);
  }

  get byteLength(): number {
    return this.bytes.byteLength;
  }

  /** Exactly `len` bytes of the file at `pos` into `into` at `at`; an error when the file ends first. */
  #read(into: Uint8Array, at: number, len: number, pos: number): void {
    if (this.#fd === undefined) throw new BtfError(`BTF: ${this.path} was closed`);
    let done = 0;
    while (done < len) {
      let n: number;
      try {
        n = readSync(this.#fd, into, at + done, len - done, pos + done);
      } catch (e) {
        throw ioError(`read (${len - done} bytes at offset ${pos + done})`, this.path, e);
      }
      if (n === 0) throw new BtfError(`BTF: read ${this.path}: the file ended at byte ${pos + done}, its size is ${this.byteLength}`);
      done += n;
    }
  }

  /** Makes bytes [off, off + len) of `bytes` hold the file's. */
  ensure(off: number, len: number): void {
    if (this.#left === 0 || len <= 0) return;
    const last = Math.min(Math.ceil((off + len) / PAGE), this.#loaded.length);
    for (let p = Math.floor(off / PAGE); p < last; p++) {
      if (this.#loaded[p]) continue;
      let q = p + 1;
      while (q < last && !this.#loaded[q]) q++;
      const start = p * PAGE;
      const end = Math.min(q * PAGE, this.byteLength);
      this.#read(this.bytes, start, end - start, start);
      this.#loaded.fill(1, p, q);
      this.#left -= q - p;
      p = q - 1;
    }
    if (this.#left === 0) this.close();
  }

  /**
   * Hands [off, off + len) to `fn` in pieces of at least `keep` bytes
   * overlapping the next piece's start by `keep` (so a record of up to `keep`
   * bytes is whole in one piece), without loading pages. `fn` gets a view
   * valid until it returns and the piece's file offset.
   */
  stream(off: number, len: number, keep: number, fn: (piece: Uint8Array, pos: number, last: boolean) => void): void {
    if (this.#left === 0) {
      fn(this.bytes.subarray(off, off + len), off, true);
      return;
    }
    const buf = new Uint8Array(Math.max(STREAM_CHUNK, 2 * keep));
    let pos = off;
    const end = off + len;
    while (pos < end) {
      const n = Math.min(buf.length, end - pos);
      this.#read(buf, 0, n, pos);
      const last = pos + n >= end;
      fn(buf.subarray(0, n), pos, last);
      if (last) break;
      pos += n - keep;
    }
  }

  /** Releases the file descriptor (done by itself once every page is read, or when this is collected). */
  close(): void {
    if (this.#fd === undefined) return;
    const fd = this.#fd;
    this.#fd = undefined;
    closer.unregister(this.#token);
    try {
      closeSync(fd);
    } catch (e) {
      throw ioError('close', this.path, e);
    }
  }
}
