// Which program runs each function hook on this kernel: an fentry/fexit
// variant whose prototype matches the kernel's BTF, else kprobes; a hook
// whose function the kernel lacks is dropped if it is optional (and said).
import type { Btf } from '@tracer-bpf/btf';
import { type AttachOptions, possibleCpus, resolveKernelFunction } from '@tracer-bpf/loader';
import { FUNCTION_HOOKS, type FunctionHook, type HookKind } from './backends.js';
import { TracerError } from './errors.js';

/** One hook as it runs here: for tracer.info. */
export interface HookInfo {
  name: string;
  /** 'none': an optional hook this kernel cannot run (reason says what is lost). */
  kind: HookKind | 'none';
  programs: string[];
  reason: string;
}

/** A program of a planned hook and how to attach it (undefined: as its section says). */
export interface HookProgram {
  program: string;
  attach: AttachOptions | undefined;
}

export interface HookPlan extends HookInfo {
  load: HookProgram[];
}

/** The most kretprobe instances per probe the kernel takes (KRETPROBE_MAXACTIVE_MAX). */
const MAX_ACTIVE_LIMIT = 4096;

/**
 * kretprobe instances: every thread that can be inside a connect() or bind()
 * at once. The kernel's default is the CPU count (non-preemptible kernels):
 * threads preempted inside the call beyond it are missed returns.
 */
export function kretprobeMaxActive(cpus = possibleCpus()): number {
  return Math.min(MAX_ACTIVE_LIMIT, Math.max(128, 8 * cpus));
}

/** A kernel function's prototype as `ret (arg, ...)` in C spelling, from BTF; undefined if BTF has no such function. */
export function functionProto(btf: Btf, fn: string): string | undefined {
  const id = btf.findIds(fn, 'func')[0];
  if (id === undefined) return undefined;
  const f = btf.type(id);
  if (f.kind !== 'func') return undefined;
  const p = btf.type(f.type);
  if (p.kind !== 'func_proto') return undefined;
  const args = p.params.map((a) => (a.type === 0 ? '...' : btf.typeName(a.type)));
  return `${btf.typeName(p.returnType)} (${args.join(', ')})`;
}

/** The first fentry variant of the hook whose every prototype matches, or why none does. */
function fentryVariant(btf: Btf, hook: FunctionHook): { programs: string[]; reason: string } | { mismatch: string } {
  const seen = new Map<string, string | undefined>();
  const proto = (fn: string): string | undefined => {
    if (!seen.has(fn)) seen.set(fn, functionProto(btf, fn));
    return seen.get(fn);
  };
  for (const variant of hook.fentry) {
    if (variant.every((p) => proto(p.target) === p.proto)) {
      const fns = [...new Set(variant.map((p) => p.target))];
      return { programs: variant.map((p) => p.program), reason: `prototype of ${fns.join(', ')} matches ${variant.map((p) => p.program).join(', ')}` };
    }
  }
  const fns = [...new Set(hook.fentry.flat().map((p) => p.target))];
  const got = fns.map((fn) => `${fn}: ${proto(fn) ?? 'not in kernel BTF'}`).join('; ');
  const known = [...new Set(hook.fentry.flat().map((p) => `${p.target}: ${p.proto}`))].join('; ');
  return { mismatch: `no fentry variant matches (kernel has ${got}; variants for ${known})` };
}

/** The hook as kprobes, or why the kernel cannot take it (a missing function or one left only as a compiler clone). */
function kprobePlan(hook: FunctionHook, kallsyms?: string): HookProgram[] | { missing: string } {
  const out: HookProgram[] = [];
  for (const p of hook.kprobe) {
    try {
      resolveKernelFunction(p.target, {}, kallsyms);
    } catch (e) {
      return { missing: (e as Error).message };
    }
    out.push({
      program: p.program,
      attach: p.retprobe ? { kind: 'kretprobe', target: p.target, maxActive: kretprobeMaxActive() } : { kind: 'kprobe', target: p.target },
    });
  }
  return out;
}

/** Every name is a function hook's (the kprobeHooks option). */
export function checkHookNames(names: readonly string[]): void {
  for (const name of names) {
    if (!FUNCTION_HOOKS.some((h) => h.name === name)) {
      throw new TracerError('ERR_TRACER_OPTION', `kprobeHooks: "${name}" is not a hook (${FUNCTION_HOOKS.map((h) => h.name).join(', ')})`);
    }
  }
}

/**
 * Every function hook for a backend of `kind` (`forceKprobe`: hook names,
 * checked by checkHookNames() first). fentry: the matching
 * variant, else kprobes where `kprobes` (the kernel has them), said in the
 * hook's reason. An optional hook the kernel cannot run is dropped (kind
 * 'none'); a required one is an error naming it.
 */
export function planHooks(
  kind: HookKind,
  btf: Btf | undefined,
  kprobes: { supported: boolean; detail: string },
  forceKprobe: readonly string[] = [],
  kallsyms?: string,
): HookPlan[] {
  const plans: HookPlan[] = [];
  for (const hook of FUNCTION_HOOKS) {
    let why = '';
    if (kind === 'fentry' && forceKprobe.includes(hook.name)) {
      why = 'forced by the kprobeHooks option: ';
      if (!kprobes.supported) throw new TracerError('ERR_NO_HOOK', `hook "${hook.name}": kprobeHooks asks for kprobes, and the kernel has none (${kprobes.detail})`);
    } else if (kind === 'fentry') {
      if (!btf) throw new TracerError('ERR_NO_BTF', 'backend fentry: the kernel has no readable BTF (/sys/kernel/btf/vmlinux); use backend "kprobe"');
      const v = fentryVariant(btf, hook);
      if ('programs' in v) {
        plans.push({ name: hook.name, kind: 'fentry', programs: v.programs, reason: v.reason, load: v.programs.map((program) => ({ program, attach: undefined })) });
        continue;
      }
      why = `${v.mismatch}: `;
      if (!kprobes.supported) {
        if (hook.optional) {
          plans.push({ name: hook.name, kind: 'none', programs: [], reason: `${why}and no kprobes (${kprobes.detail}): ${hook.optional}`, load: [] });
          continue;
        }
        throw new TracerError('ERR_NO_HOOK', `hook "${hook.name}": ${why}and no kprobes to fall back to (${kprobes.detail}); use backend "tp_btf"`);
      }
    }
    const k = kprobePlan(hook, kallsyms);
    if ('missing' in k) {
      if (hook.optional) {
        plans.push({ name: hook.name, kind: 'none', programs: [], reason: `${why}${k.missing}: ${hook.optional}`, load: [] });
        continue;
      }
      throw new TracerError('ERR_NO_HOOK', `hook "${hook.name}": ${why}${k.missing}; use a tracepoint backend (tp_btf or tracepoint)`);
    }
    plans.push({
      name: hook.name,
      kind: 'kprobe',
      programs: k.map((p) => p.program),
      reason: kind === 'fentry' ? `${why}kprobes instead` : `kprobes on ${[...new Set(hook.kprobe.map((p) => p.target))].join(', ')}`,
      load: k,
    });
  }
  return plans;
}
