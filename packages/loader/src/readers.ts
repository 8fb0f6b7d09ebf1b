// Ring buffer and perf buffer readers. The addon polls libbpf's epoll fd on
// the libuv loop and enters JS once per batch; records arrive as Buffers
// (views into one batch Buffer, valid after the callback returns).
//
// Lifetime: a referenced reader (the default) keeps its object alive, as an
// open socket does, until close(). After unref() it does not: an object that
// nothing reaches any more is garbage-collected with its unref()'d readers,
// which closes them and detaches its links.
import { native, type NativeHandle } from './binding.js';
import { BpfArgumentError, BpfNotSupportedError } from './errors.js';
import { probeFeature } from './features.js';
import { type Init, makeInit, readInit } from './init.js';
import { type BpfMap, handleOf } from './map.js';
import { type ArgContext, fn, integer, options, positive } from './validate.js';

export interface ReaderOwner {
  readonly name: string;
  track(r: { close(): void }): void;
  untrack(r: { close(): void }): void;
}

interface ReaderInit<F, O> {
  map: BpfMap;
  owner: ReaderOwner;
  onRecords: F;
  opts: O | undefined;
}

type Deliver = (batch: Buffer, count: number, lost: number[] | undefined) => void;

/** Split a framed batch (u32 len, u32 cpu, data padded to 8) into records: the addon's wire format. */
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
  readonly map: BpfMap;
  readonly #handle: NativeHandle;
  // The addon holds this callback weakly once unref()'d: the reader keeps it alive.
  readonly #deliver: Deliver;
  #closed = false;
  readonly #owner: ReaderOwner;

  protected constructor(init: Init<'Reader'>) {
    const { map, owner, open } = readInit<{ map: BpfMap; owner: ReaderOwner; open: (cb: Deliver) => NativeHandle }>(init);
    this.map = map;
    this.#owner = owner;
    this.#deliver = (b, n, lost) => this.deliver(b, n, lost);
    this.#handle = open(this.#deliver);
    owner.track(this);
  }

  protected abstract deliver(batch: Buffer, count: number, lost: number[] | undefined): void;

  get closed(): boolean {
    return this.#closed;
  }

  /** Read what is there now, synchronously (the callback runs before this returns). Returns the records read. */
  consume(): number {
    return native.reader_consume(this.#handle);
  }

  /**
   * Let the process exit while this reader is open, and let garbage
   * collection release it (and its object) once nothing else reaches them.
   */
  unref(): this {
    native.reader_ref(this.#handle, false);
    return this;
  }

  /** Keep the process, this reader and its object alive until close() (the default). */
  ref(): this {
    native.reader_ref(this.#handle, true);
    return this;
  }

  /** Stop reading and free the buffers; safe inside the callback. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    native.reader_close(this.#handle);
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

function readerContext(op: string, map: BpfMap): ArgContext {
  return { op, map: map.name, object: map.owner.name };
}

function checkMapType(ctx: ArgContext, map: BpfMap, typeName: string, what: string): void {
  if (map.typeName !== typeName) {
    throw new BpfArgumentError({ code: 'ERR_BPF_ARG', ...ctx, argument: 'map', message: `map ${map.name} is a ${map.typeName} map, not ${what}` });
  }
}

export class RingBufferReader extends Reader {
  readonly #onRecords: (records: Buffer[]) => void;

  /** Readers come from BpfObject.openRingBuffer(). */
  constructor(init: Init<'RingBufferReader'>) {
    const { map, owner, onRecords, opts } = readInit<ReaderInit<(records: Buffer[]) => void, RingBufferOptions>>(init);
    const ctx = readerContext('open ring buffer', map);
    checkMapType(ctx, map, 'ringbuf', 'a ring buffer');
    const cb = fn<(records: Buffer[]) => void>(ctx, 'onRecords', onRecords);
    const o = options<RingBufferOptions>(ctx, 'opts', opts, ['maxBatchBytes']);
    const maxBatchBytes = o.maxBatchBytes === undefined ? undefined : positive(ctx, 'maxBatchBytes', o.maxBatchBytes);
    super(makeInit({ map, owner, open: (deliver: Deliver) => native.ring_open(handleOf(map), deliver, maxBatchBytes) }));
    this.#onRecords = cb;
  }

  protected deliver(batch: Buffer, count: number): void {
    this.#onRecords(splitBatch(batch, count));
  }
}

export interface PerfBufferOptions {
  /** Pages per CPU ring (a power of two; default 64). */
  pageCount?: number;
  /**
   * Called with the records the kernel had to drop on a CPU, before the batch
   * they came with. If it throws, the batch is still delivered to onRecords,
   * then the (first) exception is thrown.
   */
  onLost?: (cpu: number, count: number) => void;
}

export class PerfBufferReader extends Reader {
  readonly #onRecords: (records: Buffer[], cpus: number[]) => void;
  readonly #onLost: ((cpu: number, count: number) => void) | undefined;
  #lost = 0;

  /** Readers come from BpfObject.openPerfBuffer(). */
  constructor(init: Init<'PerfBufferReader'>) {
    const { map, owner, onRecords, opts } = readInit<ReaderInit<(records: Buffer[], cpus: number[]) => void, PerfBufferOptions>>(init);
    const ctx = readerContext('open perf buffer', map);
    checkMapType(ctx, map, 'perf_event_array', 'a perf event array');
    const cb = fn<(records: Buffer[], cpus: number[]) => void>(ctx, 'onRecords', onRecords);
    const o = options<PerfBufferOptions>(ctx, 'opts', opts, ['pageCount', 'onLost']);
    const pages = o.pageCount === undefined ? 64 : integer(ctx, 'pageCount', o.pageCount, 1, 1 << 20);
    if ((pages & (pages - 1)) !== 0) {
      throw new BpfArgumentError({ code: 'ERR_BPF_ARG', ...ctx, argument: 'pageCount', message: `pageCount must be a power of two, got ${pages}` });
    }
    const onLost = o.onLost === undefined ? undefined : fn<(cpu: number, count: number) => void>(ctx, 'onLost', o.onLost);
    super(makeInit({ map, owner, open: (deliver: Deliver) => native.perf_open(handleOf(map), deliver, pages) }));
    this.#onRecords = cb;
    this.#onLost = onLost;
  }

  /** Records the kernel dropped because a CPU's buffer was full, since open. */
  get lost(): number {
    return this.#lost;
  }

  protected deliver(batch: Buffer, count: number, lost: number[] | undefined): void {
    // Records are never dropped because a callback threw: every callback runs,
    // then the first exception propagates.
    let failed: { error: unknown } | undefined;
    if (lost) {
      for (let i = 0; i + 1 < lost.length; i += 2) {
        const n = lost[i + 1] as number;
        this.#lost += n;
        try {
          this.#onLost?.(lost[i] as number, n);
        } catch (error) {
          failed ??= { error };
        }
      }
    }
    if (count > 0) {
      const cpus: number[] = new Array(count);
      const records = splitBatch(batch, count, cpus);
      try {
        this.#onRecords(records, cpus);
      } catch (error) {
        failed ??= { error };
      }
    }
    if (failed) throw failed.error;
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
