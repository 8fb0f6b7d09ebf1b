// Ring buffer and perf buffer readers. The addon polls libbpf's epoll fd on
// the libuv loop and enters JS once per batch; records arrive as Buffers
// (views into one batch Buffer, valid after the callback returns).
import { native, type NativeHandle } from './binding.js';
import { BpfArgumentError, BpfNotSupportedError } from './errors.js';
import { probeFeature } from './features.js';
import type { BpfMap } from './map.js';

export interface ReaderOwner {
  readonly name: string;
  /** @internal */ track(r: { close(): void }): void;
  /** @internal */ untrack(r: { close(): void }): void;
}

const BPF_MAP_TYPE_PERF_EVENT_ARRAY = 4;
const BPF_MAP_TYPE_RINGBUF = 27;

/** Split a framed batch (u32 len, u32 cpu, data padded to 8) into records. */
export function splitBatch(batch: Buffer, count: number, cpus?: number[]): Buffer[] {
  const out: Buffer[] = new Array(count);
  let off = 0;
  for (let i = 0; i < count; i++) {
    const len = batch.readUInt32LE(off);
    if (cpus) cpus[i] = batch.readUInt32LE(off + 4);
    out[i] = batch.subarray(off + 8, off + 8 + len);
    off += 8 + ((len + 7) & ~7);
  }
  return out;
}

abstract class Reader implements Disposable {
  protected readonly handle: NativeHandle;
  readonly map: BpfMap;
  #closed = false;
  readonly #owner: ReaderOwner;

  protected constructor(map: BpfMap, owner: ReaderOwner, open: (cb: (b: Buffer, n: number, lost: number[] | undefined) => void) => NativeHandle) {
    this.map = map;
    this.#owner = owner;
    this.handle = open((b, n, lost) => this.deliver(b, n, lost));
    owner.track(this);
  }

  protected abstract deliver(batch: Buffer, count: number, lost: number[] | undefined): void;

  get closed(): boolean {
    return this.#closed;
  }

  /** Read what is there now, synchronously (the callback runs before this returns). Returns the records read. */
  consume(): number {
    return native.reader_consume(this.handle);
  }

  /** Let the process exit while this reader is open. */
  unref(): this {
    native.reader_ref(this.handle, false);
    return this;
  }

  ref(): this {
    native.reader_ref(this.handle, true);
    return this;
  }

  /** Stop reading and free the buffers; safe inside the callback. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    native.reader_close(this.handle);
    this.#owner.untrack(this);
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

export interface RingBufferOptions {
  /** Stop draining a batch at about this many bytes (default 4 MiB); the rest comes next turn. */
  maxBatchBytes?: number;
}

export class RingBufferReader extends Reader {
  readonly #onRecords: (records: Buffer[]) => void;

  /** @internal use BpfObject.openRingBuffer() */
  constructor(map: BpfMap, owner: ReaderOwner, onRecords: (records: Buffer[]) => void, opts: RingBufferOptions = {}) {
    if (map.type !== BPF_MAP_TYPE_RINGBUF) {
      throw new BpfArgumentError({ code: 'ERR_BPF_ARG', op: 'open ring buffer', map: map.name, message: `map ${map.name} is a ${map.typeName} map, not a ring buffer` });
    }
    super(map, owner, (cb) => native.ring_open(map.handle, cb, opts.maxBatchBytes));
    this.#onRecords = onRecords;
  }

  protected deliver(batch: Buffer, count: number): void {
    this.#onRecords(splitBatch(batch, count));
  }
}

export interface PerfBufferOptions {
  /** Pages per CPU ring (a power of two; default 64). */
  pageCount?: number;
  /** Called with the records the kernel had to drop on a CPU. */
  onLost?: (cpu: number, count: number) => void;
}

export class PerfBufferReader extends Reader {
  readonly #onRecords: (records: Buffer[], cpus: number[]) => void;
  readonly #onLost: ((cpu: number, count: number) => void) | undefined;
  #lost = 0;

  /** @internal use BpfObject.openPerfBuffer() */
  constructor(map: BpfMap, owner: ReaderOwner, onRecords: (records: Buffer[], cpus: number[]) => void, opts: PerfBufferOptions = {}) {
    if (map.type !== BPF_MAP_TYPE_PERF_EVENT_ARRAY) {
      throw new BpfArgumentError({ code: 'ERR_BPF_ARG', op: 'open perf buffer', map: map.name, message: `map ${map.name} is a ${map.typeName} map, not a perf event array` });
    }
    const pages = opts.pageCount ?? 64;
    if (!Number.isInteger(pages) || pages <= 0 || (pages & (pages - 1)) !== 0) {
      throw new BpfArgumentError({ code: 'ERR_BPF_ARG', op: 'open perf buffer', map: map.name, message: `pageCount must be a power of two, got ${pages}` });
    }
    super(map, owner, (cb) => native.perf_open(map.handle, cb, pages));
    this.#onRecords = onRecords;
    this.#onLost = opts.onLost;
  }

  /** Records the kernel dropped because a CPU's buffer was full, since open. */
  get lost(): number {
    return this.#lost;
  }

  protected deliver(batch: Buffer, count: number, lost: number[] | undefined): void {
    if (lost) {
      for (let i = 0; i + 1 < lost.length; i += 2) {
        const n = lost[i + 1] as number;
        this.#lost += n;
        this.#onLost?.(lost[i] as number, n);
      }
    }
    if (count > 0) {
      const cpus: number[] = new Array(count);
      const records = splitBatch(batch, count, cpus);
      this.#onRecords(records, cpus);
    }
  }
}

export type EventTransport = 'ringbuf' | 'perf';

/**
 * The transport to use for events: the ring buffer when the kernel has it,
 * else the perf buffer. Forcing 'perf' runs the fallback on kernels that
 * have both; forcing 'ringbuf' where it is missing is an error.
 */
export function chooseTransport(preference: EventTransport | 'auto' = 'auto'): EventTransport {
  if (preference === 'perf') return 'perf';
  const ring = probeFeature('ringbuf');
  if (ring.supported) return 'ringbuf';
  if (preference === 'ringbuf') {
    throw new BpfNotSupportedError({ feature: 'ringbuf', code: ring.code ?? 'EOPNOTSUPP', op: 'choose event transport', hint: `${ring.detail}; use the perf buffer` });
  }
  return 'perf';
}
