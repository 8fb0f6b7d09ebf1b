// Reading a whole connection map in chunks into buffers kept for the
// tracer's life: a snapshot of a map of N entries allocates no N-sized
// buffer (a readAll() of the 65 536-entry socket map allocates 29 MB, and
// 450 MB at a million), so memory stays flat however large the maps are and
// however often they are read.
import { BpfError, type BpfMap, probeFeature } from '@tracer-bpf/loader';

/** Entries per BPF_MAP_LOOKUP_BATCH call (and per chunk handed to the visitor). */
const CHUNK = 4096;

export class MapScanner {
  readonly #map: BpfMap;
  #chunk: number;
  #keys: Buffer;
  #values: Buffer;
  /** Nanoseconds spent in the kernel's map reads (the lookup calls) since the scanner was made. */
  readNs = 0;

  constructor(map: BpfMap, chunk = CHUNK) {
    this.#map = map;
    this.#chunk = Math.max(1, Math.min(chunk, map.maxEntries));
    this.#keys = Buffer.alloc(this.#chunk * map.keySize);
    this.#values = Buffer.alloc(this.#chunk * map.valueBytes);
  }

  /**
   * Every entry, a chunk at a time: `visit(keys, values, count)` gets views
   * of the shared buffers, valid until it returns (decode or copy what it
   * keeps). Returns the number of entries.
   */
  scan(visit: (keys: Buffer, values: Buffer, count: number) => void): number {
    const map = this.#map;
    if (!probeFeature('batchOps').supported) {
      // Before 5.6: key by key (the map's own reader).
      const t0 = process.hrtime.bigint();
      const all = map.readAll({ method: 'iterate' });
      this.readNs += Number(process.hrtime.bigint() - t0);
      if (all.count > 0) visit(all.keys, all.values, all.count);
      return all.count;
    }
    const cursor = map.newBatchCursor();
    let total = 0;
    for (;;) {
      let r: { count: number; done: boolean };
      const t0 = process.hrtime.bigint();
      try {
        r = map.lookupBatch(cursor, this.#keys, this.#values, this.#chunk);
        this.readNs += Number(process.hrtime.bigint() - t0);
      } catch (e) {
        this.readNs += Number(process.hrtime.bigint() - t0);
        // ENOSPC: one hash bucket holds more entries than a chunk; nothing was read, grow and retry.
        if (e instanceof BpfError && e.code === 'ENOSPC' && this.#chunk < map.maxEntries) {
          this.#chunk = Math.min(this.#chunk * 2, map.maxEntries);
          this.#keys = Buffer.alloc(this.#chunk * map.keySize);
          this.#values = Buffer.alloc(this.#chunk * map.valueBytes);
          continue;
        }
        throw e;
      }
      if (r.count > 0) visit(this.#keys, this.#values, r.count);
      total += r.count;
      if (r.done) return total;
    }
  }
}
