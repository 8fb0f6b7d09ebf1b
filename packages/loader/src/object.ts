// A BpfObject: one ELF object opened with libbpf. Before load: set globals,
// size maps, choose programs. load() runs on the thread pool. Closing the
// object closes its links and readers; so does garbage collection.
import { readCapabilities } from './capabilities.js';
import { native, type NativeHandle } from './binding.js';
import { BpfArgumentError, BpfClosedError, BpfError, BpfNotSupportedError, BpfStateError } from './errors.js';
import { encodeGlobal, type GlobalSpec, type GlobalValue } from './globals.js';
import type { Link } from './link.js';
import { BpfMap, type MapOwner } from './map.js';
import { BpfProgram, type ProgramOwner } from './program.js';
import { PerfBufferReader, type PerfBufferOptions, type ReaderOwner, RingBufferReader, type RingBufferOptions } from './readers.js';

export interface OpenOptions {
  /** Object name (defaults to the file name; required meaning for Buffers: "bpf_object"). */
  name?: string;
}

const TRACING_KINDS = new Set(['fentry', 'fexit', 'fmod_ret']);

export class BpfObject implements Disposable {
  readonly name: string;
  readonly programs: ReadonlyMap<string, BpfProgram>;
  readonly maps: ReadonlyMap<string, BpfMap>;
  readonly #handle: NativeHandle;
  readonly #links = new Set<Link>();
  readonly #readers = new Set<{ close(): void }>();
  #globals: Map<string, GlobalSpec> | undefined;
  #state: 'opened' | 'loading' | 'loaded' | 'closed' = 'opened';
  readonly #ownerView: ProgramOwner & MapOwner & ReaderOwner;

  /** Open an ELF object from a path or from its bytes (nothing is loaded into the kernel yet). */
  static open(source: string | Uint8Array, opts: OpenOptions = {}): BpfObject {
    if (typeof source === 'string') return new BpfObject(native.object_open_file(source, opts.name));
    if (source instanceof Uint8Array) return new BpfObject(native.object_open_buffer(source, opts.name ?? 'bpf_object'));
    throw new BpfArgumentError({ code: 'ERR_BPF_ARG', op: 'open object', message: 'pass a file path or a Buffer holding the ELF image' });
  }

  private constructor(handle: NativeHandle) {
    this.#handle = handle;
    this.name = native.object_info(handle).name;
    this.#ownerView = this.#makeOwner();
    this.programs = new Map(native.object_programs(handle).map((d) => [d.name, new BpfProgram(d, this.#ownerView)]));
    this.maps = new Map(native.object_maps(handle).map((d) => [d.name, new BpfMap(d, this.#ownerView)]));
  }

  get loaded(): boolean {
    return this.#state === 'loaded';
  }

  get closed(): boolean {
    return this.#state === 'closed';
  }

  program(name: string): BpfProgram {
    const p = this.programs.get(name);
    if (!p) this.#unknown('program', name, [...this.programs.keys()]);
    return p;
  }

  map(name: string): BpfMap {
    const m = this.maps.get(name) ?? [...this.maps.values()].find((x) => x.internal && x.name.endsWith(name));
    if (!m) this.#unknown('map', name, [...this.maps.keys()]);
    return m;
  }

  /** Global variables (from BTF), by name. */
  globals(): ReadonlyMap<string, GlobalSpec> {
    this.#check('read globals');
    this.#globals ??= new Map(native.object_globals(this.#handle).map((g) => [g.name, g]));
    return this.#globals;
  }

  /** Set a global (a `const volatile` in .rodata, or .data/.bss) before load; type- and size-checked. */
  setGlobal(name: string, value: GlobalValue): this {
    this.#check('set global');
    if (this.#state !== 'opened') {
      throw new BpfStateError({ code: 'ERR_BPF_LOADED', op: 'set global', target: name, object: this.name, message: 'globals can only be set before load()' });
    }
    const g = this.globals().get(name);
    if (!g) this.#unknown('global', name, [...this.globals().keys()]);
    native.object_set_global(this.#handle, g.section, g.offset, encodeGlobal(g, this.name, value));
    return this;
  }

  setGlobals(values: Record<string, GlobalValue>): this {
    for (const [k, v] of Object.entries(values)) this.setGlobal(k, v);
    return this;
  }

  /** Load maps and programs into the kernel, off the main thread. Rejects with the verifier log on failure. */
  async load(): Promise<void> {
    this.#check('load');
    if (this.#state !== 'opened') {
      throw new BpfStateError({ code: 'ERR_BPF_LOADED', op: 'load', object: this.name, message: `the object is already ${this.#state}` });
    }
    this.#state = 'loading';
    try {
      await native.object_load(this.#handle);
    } catch (err) {
      if (this.#state === 'loading') this.#state = 'opened';
      throw this.#explainLoadError(err);
    }
    if (this.#state === 'loading') this.#state = 'loaded';
  }

  /** Attach every loaded program as its section says. Returns the links (also owned by the object). */
  attachAll(): Link[] {
    return [...this.programs.values()].filter((p) => p.autoload).map((p) => p.attach());
  }

  openRingBuffer(map: string, onRecords: (records: Buffer[]) => void, opts?: RingBufferOptions): RingBufferReader {
    return new RingBufferReader(this.map(map), this.#ownerView, onRecords, opts);
  }

  openPerfBuffer(map: string, onRecords: (records: Buffer[], cpus: number[]) => void, opts?: PerfBufferOptions): PerfBufferReader {
    return new PerfBufferReader(this.map(map), this.#ownerView, onRecords, opts);
  }

  /** Links attached through this object and still open. */
  get links(): readonly Link[] {
    return [...this.#links].filter((l) => !l.closed);
  }

  /** Release everything: readers, links, programs and maps. Safe during load() (which then rejects). */
  close(): void {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    for (const r of [...this.#readers]) r.close();
    this.#readers.clear();
    native.object_close(this.#handle);
    this.#links.clear();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  /** What programs, maps, links and readers see of this object (one view, made once). */
  #makeOwner(): ProgramOwner & MapOwner & ReaderOwner {
    const self = this;
    return {
      get name() {
        return self.name;
      },
      get closed() {
        return self.closed;
      },
      adopt(link: Link): Link {
        self.#links.add(link);
        return link;
      },
      track(r: { close(): void }) {
        self.#readers.add(r);
      },
      untrack(r: { close(): void }) {
        self.#readers.delete(r);
      },
    };
  }

  #check(op: string): void {
    if (this.#state === 'closed') {
      throw new BpfClosedError({ code: 'ERR_BPF_CLOSED', op, object: this.name, message: 'the object is closed' });
    }
  }

  #unknown(what: string, name: string, known: string[]): never {
    throw new BpfArgumentError({
      code: 'ERR_BPF_ARG',
      op: `find ${what}`,
      target: name,
      object: this.name,
      message: `no ${what} named ${name} (there are: ${known.join(', ') || 'none'})`,
    });
  }

  // The kernel said EPERM although this process has every capability: say
  // what the kernel refused and what can run instead; mention memlock only
  // when the limit is really finite.
  #explainLoadError(err: unknown): unknown {
    if (!(err instanceof BpfError) || err.code !== 'EPERM' || err.name !== 'BpfError') return err;
    if (!readCapabilities().tracing) return err;
    const prog = err.program ? this.programs.get(err.program) : undefined;
    const base = {
      code: err.code,
      errno: err.errno ?? 1,
      op: err.op,
      object: this.name,
      ...(err.program !== undefined && { program: err.program }),
      ...(err.syscall !== undefined && { syscall: err.syscall }),
      ...(err.log !== undefined && { log: err.log }),
      cause: err,
    };
    if (prog && TRACING_KINDS.has(prog.spec.kind)) {
      return new BpfNotSupportedError({
        ...base,
        feature: 'fentry',
        hint:
          `the kernel refused the ${prog.spec.kind} program although this process has CAP_BPF, CAP_PERFMON and CAP_SYS_ADMIN: ` +
          `this kernel does not allow fentry/fexit; run the kprobe or tracepoint backend instead (setAutoload(false) on ${prog.name})`,
      });
    }
    const memlock = native.memlock_limit();
    const memlockNote =
      memlock >= 0 ? `; RLIMIT_MEMLOCK is ${memlock} bytes, which kernels before 5.11 charge BPF memory to` : '';
    return new BpfNotSupportedError({
      ...base,
      feature: prog ? prog.typeName : 'bpf',
      hint: `the kernel refused it although this process has CAP_BPF, CAP_PERFMON and CAP_SYS_ADMIN (lockdown or a security module?)${memlockNote}`,
    });
  }
}
