// A program of a BpfObject: choose it for load, then attach it (as its
// section says, or to an explicit target) and test-run it.
import { native, type NativeHandle, type NativeProgramDesc } from './binding.js';
import { BpfArgumentError, BpfError, BpfNotSupportedError } from './errors.js';
import { probeFeature } from './features.js';
import { resolveKernelFunction, type ResolveOptions } from './kallsyms.js';
import { type Init, makeInit, readInit } from './init.js';
import { Link, type LinkOwner } from './link.js';
import { legacyEventName } from './probe-events.js';
import { type AttachSpec, parseSection } from './section.js';
import { requireTracefs } from './tracefs.js';
import { type ArgContext, boolean, bytes, integer, oneOf, options, text } from './validate.js';

export type KprobeMode = 'auto' | 'pmu' | 'tracefs';
const KPROBE_MODES: readonly KprobeMode[] = ['auto', 'pmu', 'tracefs'];
const ATTACH_KINDS = ['kprobe', 'kretprobe', 'tracepoint', 'raw_tracepoint', 'fentry', 'fexit', 'fmod_ret', 'tp_btf'] as const;
/** The kernel's most kretprobe instances per probe (KRETPROBE_MAXACTIVE_MAX). */
const MAX_ACTIVE_LIMIT = 4096;

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
      /**
       * kretprobe only: how many calls can be in flight at once (1..4096).
       * The kernel's default is the CPU count on non-preemptible kernels (2x
       * and at least 10 on preemptible ones), so returns of calls that block
       * (accept, recv, poll) are missed beyond it; nmissed() counts them.
       * The perf kprobe PMU cannot take it: setting it attaches through
       * tracefs kprobe_events (`r<N>:`) on every kernel.
       */
      maxActive?: number;
    } & ResolveOptions)
  | { kind: 'tracepoint'; category: string; name: string }
  | { kind: 'raw_tracepoint'; name: string }
  | { kind: 'fentry' | 'fexit' | 'fmod_ret' | 'tp_btf' };

export interface ProgramOwner extends LinkOwner {
  adopt(link: Link): Link;
}

/** What the kernel counts about a program (BPF_OBJ_GET_INFO_BY_FD). */
export interface ProgramStats {
  /** The program's id. */
  id: number;
  /** Runs counted while BPF stats were enabled (see enableBpfStats()). */
  runCount: bigint;
  /** Nanoseconds spent in those runs. */
  runTimeNs: bigint;
  /**
   * Times the program did not run because it would have recursed (another BPF
   * program of its kind already running on that CPU). Kernels 5.12+; undefined before.
   */
  recursionMisses: bigint | undefined;
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

  /** Programs come from BpfObject.open(). */
  constructor(init: Init<'BpfProgram'>) {
    const { desc, owner } = readInit<{ desc: NativeProgramDesc; owner: ProgramOwner }>(init);
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
    native.program_set_autoload(this.#handle, boolean(this.#ctx('set autoload'), 'autoload', autoload));
    this.#autoload = autoload;
    return this;
  }

  /** fentry / fexit / tp_btf: attach to this function or tracepoint instead of the section's (before load). */
  setAttachTarget(target: string): this {
    native.program_set_attach_target(this.#handle, text(this.#ctx('set attach target'), 'target', target));
    this.#attachTarget = target;
    return this;
  }

  get fd(): number {
    return native.program_fd(this.#handle);
  }

  /** Run count, run time and recursion misses, as the kernel counts them now. */
  stats(): ProgramStats {
    const i = native.program_info(this.#handle);
    return { id: i.id, runCount: i.runCount, runTimeNs: i.runTimeNs, recursionMisses: i.recursionMisses };
  }

  /** Attach as the section says, or as `opts` says. The Link belongs to the object: closing the object closes it. */
  attach(opts?: AttachOptions): Link {
    const o = opts === undefined ? this.#fromSection() : this.#checkAttach(opts);
    switch (o.kind) {
      case 'kprobe':
      case 'kretprobe':
        return this.#attachKprobe(o);
      case 'tracepoint': {
        const target = `${o.category}/${o.name}`;
        requireTracefs(`attach tracepoint ${target}`);
        return this.#adopt(() => native.program_attach_tracepoint(this.#handle, o.category, o.name), 'tracepoint', target);
      }
      case 'raw_tracepoint':
        return this.#adopt(() => native.program_attach_raw_tracepoint(this.#handle, o.name), 'raw_tracepoint', o.name);
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
        return this.#adopt(() => native.program_attach_trace(this.#handle, o.kind, target), o.kind, target);
      }
    }
  }

  /** Run the program once (or `repeat` times) with BPF_PROG_TEST_RUN. */
  testRun(opts?: TestRunOptions): { retval: number; duration: number } {
    const c = this.#ctx('test run');
    const o = options<TestRunOptions>(c, 'opts', opts, ['ctx', 'data', 'repeat', 'cpu']);
    let ctx: Uint8Array | null = null;
    if (Array.isArray(o.ctx)) {
      const b = Buffer.alloc(o.ctx.length * 8);
      o.ctx.forEach((v, i) => {
        if (typeof v !== 'bigint' && (typeof v !== 'number' || !Number.isInteger(v))) integer(c, `ctx[${i}]`, v, -(2 ** 53), 2 ** 64);
        b.writeBigUInt64LE(BigInt.asUintN(64, BigInt(v)), i * 8);
      });
      ctx = b;
    } else if (o.ctx !== undefined) ctx = bytes(c, 'ctx', o.ctx);
    const data = o.data === undefined ? null : bytes(c, 'data', o.data);
    const repeat = o.repeat === undefined ? 0 : integer(c, 'repeat', o.repeat);
    const cpu = o.cpu === undefined ? -1 : integer(c, 'cpu', o.cpu);
    return native.program_test_run(this.#handle, ctx, data, repeat, cpu);
  }

  /** The attach options, checked: a wrong kind, type or range is a BpfArgumentError naming the option. */
  #checkAttach(opts: AttachOptions): AttachOptions {
    const c = this.#ctx('attach');
    const kind = oneOf(c, 'kind', (opts as { kind?: unknown } | null)?.kind, ATTACH_KINDS);
    switch (kind) {
      case 'kprobe':
      case 'kretprobe': {
        type KprobeOptions = Extract<AttachOptions, { kind: 'kprobe' | 'kretprobe' }>;
        const o = options<KprobeOptions>(c, 'opts', opts, ['kind', 'target', 'offset', 'mode', 'maxActive', 'allowClone']);
        const out: Extract<AttachOptions, { kind: 'kprobe' | 'kretprobe' }> = { kind, target: text(c, 'target', o.target) };
        if (o.offset !== undefined) out.offset = integer(c, 'offset', o.offset);
        if (o.mode !== undefined) out.mode = oneOf(c, 'mode', o.mode, KPROBE_MODES);
        if (o.allowClone !== undefined) {
          if (typeof o.allowClone !== 'boolean' && !(Array.isArray(o.allowClone) && o.allowClone.every((a: unknown) => typeof a === 'string'))) {
            throw new BpfArgumentError({ code: 'ERR_BPF_ARG', ...c, argument: 'allowClone', message: 'allowClone: expected a boolean or an array of clone kinds or names' });
          }
          out.allowClone = o.allowClone;
        }
        if (o.maxActive !== undefined) {
          if (kind !== 'kretprobe') {
            throw new BpfArgumentError({ code: 'ERR_BPF_ARG', ...c, argument: 'maxActive', message: 'maxActive: only a kretprobe has return instances' });
          }
          if (out.mode === 'pmu') {
            throw new BpfArgumentError({ code: 'ERR_BPF_ARG', ...c, argument: 'maxActive', message: 'maxActive: the perf kprobe PMU cannot take it; use mode "auto" or "tracefs"' });
          }
          out.maxActive = integer(c, 'maxActive', o.maxActive, 1, MAX_ACTIVE_LIMIT);
        }
        return out;
      }
      case 'tracepoint': {
        const o = options<{ category: string; name: string }>(c, 'opts', opts, ['kind', 'category', 'name']);
        return { kind, category: text(c, 'category', o.category), name: text(c, 'name', o.name) };
      }
      case 'raw_tracepoint': {
        const o = options<{ name: string }>(c, 'opts', opts, ['kind', 'name']);
        return { kind, name: text(c, 'name', o.name) };
      }
      default:
        options(c, 'opts', opts, ['kind']);
        return { kind };
    }
  }

  #ctx(op: string): ArgContext {
    return { op, program: this.name, object: this.#owner.name };
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
    const mode = o.mode ?? (o.maxActive !== undefined ? 'tracefs' : 'auto');
    if (mode === 'pmu' && probeFeature('kprobes').mode !== 'pmu') {
      throw new BpfNotSupportedError({
        feature: 'kprobes',
        code: 'ENOENT',
        errno: 2,
        op,
        target: o.target,
        program: this.name,
        object: this.#owner.name,
        hint: `this kernel has no kprobe PMU: use mode "tracefs" or "auto" (${probeFeature('kprobes').detail})`,
      });
    }
    const resolved = resolveKernelFunction(o.target, o.allowClone === undefined ? {} : { allowClone: o.allowClone });
    const retprobe = o.kind === 'kretprobe';
    const offset = o.offset ?? 0;
    const clone = resolved.clone && resolved.symbol;
    try {
      // Always the real attach: the feature probe only explains a failure.
      if (mode === 'tracefs') {
        const tracefs = requireTracefs(op);
        const event = legacyEventName(process.pid, ++legacySeq, resolved.symbol);
        const h = native.program_attach_kprobe_tracefs(this.#handle, resolved.symbol, retprobe, offset, tracefs, event, o.maxActive ?? 0);
        return this.#owner.adopt(new Link(makeInit({ handle: h, owner: this.#owner, kind: o.kind, target: resolved.symbol, clone, tracefs })));
      }
      const h = native.program_attach_kprobe(this.#handle, resolved.symbol, retprobe, offset);
      return this.#owner.adopt(new Link(makeInit({ handle: h, owner: this.#owner, kind: o.kind, target: resolved.symbol, clone })));
    } catch (err) {
      if (!(err instanceof BpfError) || err.errno === undefined) throw err;
      const feature = probeFeature('kprobes');
      const base = {
        code: err.code,
        errno: err.errno,
        op,
        target: resolved.symbol,
        program: this.name,
        object: this.#owner.name,
        ...(err.syscall !== undefined && { syscall: err.syscall }),
        ...(err.log !== undefined && { log: err.log }),
        cause: err,
      };
      if (!feature.supported) throw new BpfNotSupportedError({ ...base, feature: 'kprobes', hint: feature.detail });
      if (err.code === 'ENOENT') {
        throw new BpfError({ ...base, hint: `the kernel has no probe point ${resolved.symbol} (not traceable, or blacklisted for kprobes)` });
      }
      throw attachLimitError(err, base) ?? err;
    }
  }

  #adopt(attach: () => NativeHandle, kind: string, target: string): Link {
    let h: NativeHandle;
    try {
      h = attach();
    } catch (err) {
      throw (err instanceof BpfError && attachLimitError(err, { code: err.code, op: err.op, target, program: this.name, object: this.#owner.name, cause: err })) || err;
    }
    return this.#owner.adopt(new Link(makeInit({ handle: h, owner: this.#owner, kind, target })));
  }
}

/**
 * E2BIG from an attach through a perf event (classic tracepoint, kprobe): the
 * kernel runs at most 64 BPF programs on one event (BPF_TRACE_MAX_PROGS).
 */
function attachLimitError(err: BpfError, base: ConstructorParameters<typeof BpfError>[0]): BpfError | undefined {
  if (err.code !== 'E2BIG') return undefined;
  return new BpfError({
    ...base,
    errno: err.errno ?? 7,
    ...(err.syscall !== undefined && { syscall: err.syscall }),
    hint: `the kernel attaches at most ${BPF_TRACE_MAX_PROGS} BPF programs to one tracepoint or kprobe (BPF_TRACE_MAX_PROGS), and ${base.target ?? 'this one'} has them all`,
  });
}

const BPF_TRACE_MAX_PROGS = 64;
