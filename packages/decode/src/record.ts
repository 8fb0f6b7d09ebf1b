// What every decoded record shares. Records are zero-copy views of a
// record's 32-bit words. The record classes do not extend a base class: on
// Node 20 a derived constructor (with its super() call) is not inlined into
// toBatch's loop and doubles its cost. They share these methods through
// recordClass() instead, and declare them by merging RecordMethods.
import { inspectSymbol } from './inspect.js';

/** The methods recordClass() adds to a record class. */
export interface RecordMethods {
  /** The record's bytes: a view into the decoded buffer, not a copy (e.g. a map key to delete). */
  bytes(): Uint8Array;
  /** A copy of this record that no longer reads the decoded buffer. */
  detach(): this;
}

/**
 * A decoded ABI record. It does not copy the record: its getters read the
 * buffer it was decoded from, when called. The buffer must therefore not be
 * overwritten while the record is in use. Buffers from @tracer-bpf/loader's
 * perf and ring buffer readers are never reused; when you decode from a
 * buffer you refill (map reads into preallocated keys/values), keep
 * `detach()`ed copies or `toObject()` values instead.
 */
export interface AbiRecord extends RecordMethods {
  /** sizeof the record's struct. */
  readonly byteLength: number;
  /** Every value, as plain data (bigints for 64-bit values). */
  toObject(): object;
  /** Every value, JSON-safe (bigints as decimal strings). */
  toJSON(): object;
}

/** What the shared methods need of a record (its classes keep these private). */
interface RecordState {
  readonly w: Int32Array;
  readonly i: number;
  readonly byteLength: number;
  toObject(): object;
}

const methods = {
  bytes(this: RecordState): Uint8Array {
    return new Uint8Array(this.w.buffer, this.w.byteOffset + this.i * 4, this.byteLength);
  },
  detach(this: RecordState): RecordState {
    const copy = this.w.slice(this.i, this.i + Math.ceil(this.byteLength / 4));
    const Ctor = this.constructor as new (w: Int32Array, i: number) => RecordState;
    return new Ctor(copy, 0);
  },
  [inspectSymbol](this: RecordState): object {
    return this.toObject();
  },
};

/** Give a record class the shared methods it does not define itself. */
export function recordClass(cls: abstract new (...args: never[]) => object): void {
  for (const key of Reflect.ownKeys(methods)) {
    if (Object.prototype.hasOwnProperty.call(cls.prototype, key)) continue;
    Object.defineProperty(cls.prototype, key, {
      value: methods[key as keyof typeof methods],
      writable: true,
      configurable: true,
      enumerable: false,
    });
  }
}
