// Whole text of a /proc file whose size stat() does not tell (seq files such as /proc/kallsyms).
import type * as fs from 'node:fs';

/**
 * A /proc file's whole text. The kernel hands /proc/kallsyms out ~4 KiB a read()
 * whatever the buffer; readFileSync's unknown-length path (a chunk a read, then a
 * UTF-8 decode) took ~115 ms for its 5 MB here, one growing buffer and a latin1
 * decode (symbol names are ASCII) ~60 ms. Self-contained (only `io` and Buffer): the
 * tracer's kallsyms worker runs its source text.
 */
export function readProcText(io: Pick<typeof fs, 'openSync' | 'readSync' | 'closeSync'>, path: string): string {
  const fd = io.openSync(path, 'r');
  try {
    let buf = Buffer.allocUnsafe(8 << 20);
    let n = 0;
    for (;;) {
      if (buf.length - n < 65536) {
        const grown = Buffer.allocUnsafe(buf.length * 2);
        buf.copy(grown, 0, 0, n);
        buf = grown;
      }
      const r = io.readSync(fd, buf, n, buf.length - n, null);
      if (r <= 0) break;
      n += r;
    }
    return buf.toString('latin1', 0, n);
  } finally {
    io.closeSync(fd);
  }
}
