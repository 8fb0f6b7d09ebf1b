// Close records from the kernel, exactly once per tracer process: from the
// ring buffer (one record per close), or from per-CPU batches on a perf
// buffer, where a partly filled batch is read from its map on demand and
// the part already delivered is skipped when the full batch arrives.
import { BATCH_SIZE, CONN_SIZE, toBatch, type Conn } from '@tracer-bpf/decode';
import type { BpfObject, PerfBufferReader, RingBufferReader } from '@tracer-bpf/loader';
import type { Transport } from './options.js';
import { rowFromConn } from './rows.js';

/** Gets each close record as a row (rows.ts). */
export interface ClosedSink {
  (row: Float64Array): void;
}

function fromConn(c: Conn): Float64Array {
  return rowFromConn(c.bytes());
}

export class ClosedReader {
  readonly transport: Transport;
  #ring: RingBufferReader | undefined;
  #perf: PerfBufferReader | undefined;
  #obj: BpfObject;
  #sink: ClosedSink;
  /** perf: per CPU, the batch id whose first `offset` records were already delivered. */
  #consumed = new Map<number, { id: bigint; offset: number }>();
  /** perf: samples the kernel dropped (perf ring full). */
  lostSamples = 0;
  delivered = 0;

  constructor(obj: BpfObject, transport: Transport, sink: ClosedSink) {
    this.#obj = obj;
    this.transport = transport;
    this.#sink = sink;
    if (transport === 'ringbuf') {
      this.#ring = obj.openRingBuffer('closed_ring', (records) => {
        for (const r of records) {
          if (r.byteLength < CONN_SIZE) continue;
          this.#deliver(rowFromConn(r));
        }
      });
      this.#ring.unref();
    } else {
      this.#perf = obj.openPerfBuffer(
        'closed_perf',
        (records, cpus) => {
          for (let k = 0; k < records.length; k++) this.#onBatch(records[k]!, cpus[k]!);
        },
        {
          onLost: (_cpu: number, n: number) => {
            this.lostSamples += n;
          },
        },
      );
      this.#perf.unref();
    }
  }

  #deliver(c: Float64Array): void {
    this.delivered++;
    this.#sink(c);
  }

  #onBatch(sample: Buffer, cpu: number): void {
    const b = toBatch(sample);
    const seen = this.#consumed.get(cpu);
    const start = seen && seen.id === b.id ? seen.offset : 0;
    if (seen && seen.id <= b.id) this.#consumed.delete(cpu);
    for (let k = start; k < b.conns.length; k++) this.#deliver(fromConn(b.conns[k]!));
  }

  /** Everything the kernel has produced so far, delivered now (before a snapshot). */
  flush(): void {
    if (this.#ring) {
      this.#ring.consume();
      return;
    }
    this.#perf!.consume();
    // Partly filled batches, read twice: records below the first read's
    // length were complete before it, so the second read holds them whole.
    const map = this.#obj.map('closed_batch');
    const key = Buffer.alloc(4);
    const first = Buffer.from(map.lookup(key)!);
    const second = map.lookup(key)!;
    const cpus = Math.floor(second.byteLength / BATCH_SIZE);
    for (let cpu = 0; cpu < cpus; cpu++) {
      const a = toBatch(first, cpu * BATCH_SIZE);
      const b = toBatch(second, cpu * BATCH_SIZE);
      if (a.id !== b.id) continue; // flushed meanwhile: the perf sample brings it
      const len = Math.min(a.len, b.len);
      const seen = this.#consumed.get(cpu);
      const start = seen && seen.id === b.id ? seen.offset : 0;
      for (let k = start; k < len; k++) this.#deliver(fromConn(b.conns[k]!));
      if (len > start) this.#consumed.set(cpu, { id: b.id, offset: len });
    }
  }

  close(): void {
    this.#ring?.close();
    this.#perf?.close();
  }
}
