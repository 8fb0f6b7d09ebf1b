// What the running kernel must be able to do, from its build config, minus a
// short list of known refusals. A feature probe that says "unsupported" where
// this says "expected" is a failure, not a skip.
import { existsSync, readFileSync } from 'node:fs';
import { release } from 'node:os';
import { gunzipSync } from 'node:zlib';
import type { Feature } from '../src/index.js';

/** The kernel's config: $TRACER_BPF_KERNEL_CONFIG (the QEMU runner), /proc/config.gz, or /boot/config-<release>. */
export function kernelConfig(): { source: string; options: Map<string, string> } {
  const candidates = [process.env.TRACER_BPF_KERNEL_CONFIG, '/proc/config.gz', `/boot/config-${release()}`].filter(
    (p): p is string => !!p,
  );
  const source = candidates.find((p) => existsSync(p));
  if (!source) throw new Error(`no kernel config found (tried ${candidates.join(', ')}): cannot tell which features this kernel must have`);
  const raw = readFileSync(source);
  const text = source.endsWith('.gz') ? gunzipSync(raw).toString('utf8') : raw.toString('utf8');
  const options = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^(CONFIG_[A-Z0-9_]+)=(.*)$/.exec(line);
    if (m?.[1] && m[2] !== undefined) options.set(m[1], m[2]);
  }
  return { source, options };
}

/**
 * Kernels known to refuse a feature their config says they have. Each entry
 * says what was seen; keep it short and explain every line.
 */
export const KNOWN_REFUSALS: Array<{ release: RegExp; feature: Feature; reason: string }> = [
  {
    // The development and CI host (Firecracker VM, Linux 6.18, lockdown=integrity):
    // fentry/fexit programs fail to load with EPERM although root has every
    // capability and the config has DYNAMIC_FTRACE_WITH_DIRECT_CALLS (MACHINE.md).
    release: /-fc-/,
    feature: 'fentry',
    reason: 'the 6.18 Firecracker host refuses fentry/fexit loads with EPERM',
  },
];

export interface Expectation {
  expected: boolean;
  why: string;
}

export function expectedFeatures(): Record<Feature, Expectation> {
  const { source, options } = kernelConfig();
  const on = (...names: string[]) => names.every((n) => options.get(n) === 'y');
  const rel = release();
  const rule = (feature: Feature, needs: string[]): Expectation => {
    const refusal = KNOWN_REFUSALS.find((r) => r.feature === feature && r.release.test(rel));
    if (refusal) return { expected: false, why: `known refusal on ${rel}: ${refusal.reason}` };
    const ok = on(...needs);
    return { expected: ok, why: `${needs.join(' + ')} ${ok ? 'set' : 'not all set'} in ${source}` };
  };
  return {
    kernelBtf: rule('kernelBtf', ['CONFIG_DEBUG_INFO_BTF']),
    kprobes: rule('kprobes', ['CONFIG_KPROBES', 'CONFIG_KPROBE_EVENTS', 'CONFIG_BPF_EVENTS']),
    fentry: rule('fentry', ['CONFIG_DEBUG_INFO_BTF', 'CONFIG_BPF_JIT', 'CONFIG_DYNAMIC_FTRACE_WITH_DIRECT_CALLS']),
    tpBtf: rule('tpBtf', ['CONFIG_DEBUG_INFO_BTF', 'CONFIG_BPF_EVENTS']),
    tracepoints: rule('tracepoints', ['CONFIG_TRACEPOINTS', 'CONFIG_BPF_EVENTS']),
    rawTracepoints: rule('rawTracepoints', ['CONFIG_BPF_EVENTS']),
    // Every kernel we support (5.10+) has the ring buffer (5.8) and batch ops (5.6).
    ringbuf: rule('ringbuf', ['CONFIG_BPF_SYSCALL']),
    batchOps: rule('batchOps', ['CONFIG_BPF_SYSCALL']),
  };
}

/** The running kernel's version is at least major.minor. */
export function kernelAtLeast(major: number, minor: number): boolean {
  const m = /^(\d+)\.(\d+)/.exec(release());
  const [maj, min] = [Number(m?.[1] ?? 0), Number(m?.[2] ?? 0)];
  return maj > major || (maj === major && min >= minor);
}
