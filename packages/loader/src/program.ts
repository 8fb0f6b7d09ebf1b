// A program of a BpfObject: choose it for load, then attach it (as its
// section says, or to an explicit target) and test-run it.
import { native, type NativeHandle, type NativeProgramDesc } from './binding.js';
import { BpfArgumentError, BpfError, BpfNotSupportedError } from './errors.js';
import { probeFeature } from './features.js';
import { resolveKernelFunction, type ResolveOptions } from './kallsyms.js';
import { Link, type LinkOwner } from './link.js';
import { type AttachSpec, parseSection } from './section.js';
import { requireTracefs } from './tracefs.js';

export type KprobeMode = 'auto' | 'pmu' | 'tracefs';

export type AttachOptions =
  | ({
      kind: 'kprobe' | 'kretprobe';
      /** Kernel function; resolved through /proc/kallsyms. */
      target: string;
      offset?: number;
      /**
       * 'auto' (libbpf: perf kprobe PMU, tracefs when there is no PMU), 'pmu', or
       * 'tracefs' (legacy kprobe_events; forces the fallback, and its misses are
       * readable on every kernel).
       */
      mode?: KprobeMode;
    } & ResolveOptions)
  | { kind: 'tracepoint'; category: string; name: string }
  | { kind: 'raw_tracepoint'; name: string }
  | { kind: 'fentry' | 'fexit' | 'fmod_ret' | 'tp_btf' };

export interface ProgramOwner extends LinkOwner {
  /** @internal */ adopt(link: Link): Link;
}

export interface TestRunOptions {
  /** Program context (raw tracepoints: the u64 arguments). */
  ctx?: Uint8Array | Array<number | bigint>;
  /** Packet data for networking program types. */
  data?: Uint8Array;
  repeat?: number;
  /** Run on this CPU (raw tracepoint programs). */
  cpu?: number;
}

let legacySeq = 0;

export class BpfProgram {
  readonly name: string;
  readonly section: string;
  /** BPF_PROG_TYPE_* number and name (e.g. "tracing", "kprobe"). */
  readonly type: number;
  readonly typeName: string;
  /** What the section says about attaching (or 'other'). */
  readonly spec: AttachSpec;
  #autoload: boolean;
  #attachTarget: string | undefined;
  readonly #handle: NativeHandle;
  readonly #owner: ProgramOwner;

  /** @internal */
  constructor(desc: NativeProgramDesc, owner: ProgramOwner) {
    this.name = desc.name;
    this.section = desc.section;
    this.type = desc.type;
    this.typeName = desc.typeName;
    this.spec = parseSection(desc.section);
    this.#autoload = desc.autoload;
    this.#handle = desc.handle;
    this.#owner = owner;
  }

  get autoload(): boolean {
    return this.#autoload;
  }

  /** Choose whether this program is loaded with the object (before load). */
  setAutoload(autoload: boolean): this {
    native.program_set_autoload(this.#handle, autoload);
    this.#autoload = autoload;
    return this;
  }

  /** fentry / fexit / tp_btf: attach to this function or tracepoint instead of the section's (before load). */
  setAttachTarget(target: string): this {
    native.program_set_attach_target(this.#handle, target);
    this.#attachTarget = target;
    return this;
  }

  get fd(): number {
    return native.program_fd(this.#handle);
  }

  /** Attach as the section says, or as `opts` says. The Link belongs to the object: closing the object closes it. */
  attach(opts?: AttachOptions): Link {
    const o = opts ?? this.#fromSection();
    switch (o.kind) {
      case 'kprobe':
      case 'kretprobe':
        return this.#attachKprobe(o);
      case 'tracepoint': {
        requireTracefs(`attach tracepoint ${o.category}/${o.name}`);
        return this.#adopt(native.program_attach_tracepoint(this.#handle, o.category, o.name), 'tracepoint', `${o.category}/${o.name}`);
      }
      case 'raw_tracepoint':
        return this.#adopt(native.program_attach_raw_tracepoint(this.#handle, o.name), 'raw_tracepoint', o.name);
      default: {
        const target = this.#attachTarget ?? (this.spec.kind === o.kind ? this.spec.target : '');
        if (!target) {
          throw new BpfArgumentError({
            code: 'ERR_BPF_ARG',
            op: `attach ${o.kind}`,
            program: this.name,
            object: this.#owner.name,
            message: `${o.kind} targets are fixed at load time: use setAttachTarget() before load()`,
          });
        }
        return this.#adopt(native.program_attach_trace(this.#handle, o.kind, target), o.kind, target);
      }
    }
  }

  /** Run the program once (or `repeat` times) with BPF_PROG_TEST_RUN. */
  testRun(opts: TestRunOptions = {}): { retval: number; duration: number } {
    let ctx: Uint8Array | null = null;
    if (Array.isArray(opts.ctx)) {
      const b = Buffer.alloc(opts.ctx.length * 8);
      opts.ctx.forEach((v, i) => b.writeBigUInt64LE(BigInt(v), i * 8));
      ctx = b;
    } else if (opts.ctx) ctx = opts.ctx;
    return native.program_test_run(this.#handle, ctx, opts.data ?? null, opts.repeat ?? 0, opts.cpu ?? -1);
  }

  #fromSection(): AttachOptions {
    const s = this.spec;
    switch (s.kind) {
      case 'kprobe':
      case 'kretprobe':
        return { kind: s.kind, target: s.target, offset: s.offset };
      case 'tracepoint':
        return { kind: 'tracepoint', category: s.category, name: s.name };
      case 'raw_tracepoint':
        return { kind: 'raw_tracepoint', name: s.name };
      case 'other':
        throw new BpfArgumentError({
          code: 'ERR_BPF_ARG',
          op: 'attach',
          program: this.name,
          object: this.#owner.name,
          message: `section "${this.section}" does not say where to attach: pass attach options`,
        });
      default:
        return { kind: s.kind };
    }
  }

  #attachKprobe(o: Extract<AttachOptions, { kind: 'kprobe' | 'kretprobe' }>): Link {
    const op = `attach ${o.kind}`;
    const feature = probeFeature('kprobes');
    if (!feature.supported) {
      throw new BpfNotSupportedError({
        feature: 'kprobes',
        code: feature.code ?? 'EOPNOTSUPP',
        ...(feature.errno !== undefined && { errno: feature.errno }),
        op,
        target: o.target,
        program: this.name,
        object: this.#owner.name,
        hint: feature.detail,
      });
    }
    const mode = o.mode ?? 'auto';
    if (mode === 'pmu' && feature.mode !== 'pmu') {
      throw new BpfNotSupportedError({
        feature: 'kprobes',
        code: 'ENOENT',
        op,
        target: o.target,
        program: this.name,
        hint: 'this kernel has no kprobe PMU: use mode "tracefs" or "auto"',
      });
    }
    const resolved = resolveKernelFunction(o.target, o.allowClone === undefined ? {} : { allowClone: o.allowClone });
    const retprobe = o.kind === 'kretprobe';
    const offset = o.offset ?? 0;
    try {
      if (mode === 'tracefs') {
        const tracefs = requireTracefs(op);
        const event = `tracer_bpf_${process.pid}_${++legacySeq}_${resolved.symbol.replace(/[^A-Za-z0-9_]/g, '_')}`;
        const h = native.program_attach_kprobe_tracefs(this.#handle, resolved.symbol, retprobe, offset, tracefs, event);
        return this.#owner.adopt(new Link(h, this.#owner, o.kind, resolved.symbol, resolved.clone && resolved.symbol, tracefs));
      }
      const h = native.program_attach_kprobe(this.#handle, resolved.symbol, retprobe, offset);
      return this.#owner.adopt(new Link(h, this.#owner, o.kind, resolved.symbol, resolved.clone && resolved.symbol));
    } catch (err) {
      if (err instanceof BpfError && err.code === 'ENOENT') {
        throw new BpfError({
          code: err.code,
          errno: 2,
          op,
          target: resolved.symbol,
          program: this.name,
          object: this.#owner.name,
          hint: `the kernel has no probe point ${resolved.symbol} (not traceable, or blacklisted for kprobes)`,
          ...(err.log !== undefined && { log: err.log }),
          cause: err,
        });
      }
      throw err;
    }
  }

  #adopt(h: NativeHandle, kind: string, target: string): Link {
    return this.#owner.adopt(new Link(h, this.#owner, kind, target));
  }
}
