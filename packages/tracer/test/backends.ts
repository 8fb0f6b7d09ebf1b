// The backends a kernel test runs on: all four, everywhere. Where this
// kernel cannot run one (the dev host has no kprobes and refuses fentry), a
// test asserts exactly that refusal instead of skipping, so a backend that
// silently ran nothing changes the pinned counts.
import { release } from 'node:os';
import { probeFeature } from '@tracer-bpf/loader';
import { guessOffsets, type SockOffsets } from '@tracer-bpf/offsetguess';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type BackendName, FUNCTION_HOOKS, Tracer, type TracerOptions } from '../src/index.js';

export const ALL_BACKENDS = ['fentry', 'kprobe', 'tp_btf', 'tracepoint'] as const satisfies readonly BackendName[];

/** Why this kernel cannot run the backend (the feature it lacks), or undefined. */
export function backendUnavailable(backend: BackendName): string | undefined {
  if (backend === 'fentry' && !probeFeature('fentry').supported) return 'fentry';
  if (backend === 'kprobe' && !probeFeature('kprobes').supported) return 'kprobes';
  return undefined;
}

const IN_VM = process.env.TRACER_BPF_KERNEL_CONFIG !== undefined;

/**
 * Tracer.start() for the kernel tests, with guessed offsets (testOffsets). In the emulated guests of the kernel
 * matrix the connection maps are sized 4096 (the tests hold at most a few
 * hundred connections at once): the kernel preallocates every entry of a hash
 * map, and zeroing the default 65536 (about 40 MiB) costs seconds per start
 * under TCG. On the host the tests run with the defaults.
 */
export async function startTracer(opts: TracerOptions = {}): Promise<Tracer> {
  const offsets = opts.offsets ?? (await testOffsets());
  return Tracer.start({ ...(IN_VM ? { maxConnections: 4096 } : {}), ...opts, offsets });
}

let guessed: Promise<SockOffsets> | undefined;
/**
 * The tracer-core stories run with guessed offsets (issue 10), guessed once
 * per test process: a guess costs seconds in the guests, and the guesser's
 * own tests (packages/offsetguess) repeat it without caching. Tests of BTF
 * itself pass offsets: 'btf'.
 */
export function testOffsets(): Promise<SockOffsets> {
  return (guessed ??= guessOffsets());
}

/** The function-hook backends (fentry, kprobe): bytes per call and UDP on every kernel. */
export const hooked = (backend: BackendName): boolean => backend === 'fentry' || backend === 'kprobe';

export function kernelAtLeast(major: number, minor: number): boolean {
  const [maj, min] = release().split('.').map(Number) as [number, number];
  return maj > major || (maj === major && min >= minor);
}

/**
 * A started tracer says what it chose and why: its transport, socket cookies
 * (tp_btf and fentry on 5.12+), how it reads kernel memory, and how each
 * function hook runs (on every kernel of the matrix an fentry variant matches
 * each prototype, and every kprobe target exists).
 */
export function expectStartInfo(t: Tracer, want: { backend: BackendName; transport: string; kernelReads?: 'auto' | 'probe'; kprobeHooks?: readonly string[] }): void {
  const { backend, kernelReads = 'auto', kprobeHooks = [] } = want;
  expect(t.info.backend).toBe(backend);
  expect(t.info.transport).toBe(want.transport);
  const btfTyped = backend === 'tp_btf' || backend === 'fentry';
  expect(t.info.cookies).toBe(btfTyped && kernelAtLeast(5, 12));
  // direct loads wherever sockets are BTF-typed: a verifier that refused them would show here
  expect(t.info.kernelReads).toBe(kernelReads === 'auto' && btfTyped ? 'direct' : 'probe');
  if (hooked(backend)) {
    expect(t.info.hooks.map((h) => [h.name, h.kind])).toEqual(FUNCTION_HOOKS.map((h) => [h.name, kprobeHooks.includes(h.name) ? 'kprobe' : backend]));
    expect(t.info.perCall).toBe(true);
    expect(t.info.udpPeers).toBe(true);
  } else {
    expect(t.info.hooks).toEqual([]);
  }
}

/**
 * Every program loaded is in the stats, with recursion misses where the
 * kernel counts them (5.12+), and kprobe misses where it reports them
 * (kretprobes from tracefs on every kernel, entry kprobes from the link info
 * on 6.7+): none missed, no close record lost.
 */
export function expectCleanStats(t: Tracer): void {
  const st = t.stats();
  expect(st.kernel.closedLost).toBe(0n);
  expect(st.programs.map((p) => p.name)).toEqual(t.info.programs);
  expect(st.programs.every((p) => p.recursionMisses !== undefined)).toBe(kernelAtLeast(5, 12));
  for (const p of st.programs) {
    const retprobe = p.name.startsWith('kr_');
    const kprobe = p.name.startsWith('k_');
    if (retprobe || (kprobe && kernelAtLeast(6, 7))) expect(p.missed, p.name).toBe(0n);
    else if (!kprobe) expect(p.missed, p.name).toBeUndefined();
  }
}

/** Per-call bytes for this backend on this kernel (function hooks anywhere; tracepoints from 6.3). */
export function perCallOn(backend: BackendName): boolean {
  if (hooked(backend)) return true;
  return kernelAtLeast(6, 3);
}

/**
 * Start on `backend`, or, where this kernel cannot run it, assert the
 * refusal names the missing feature and return undefined.
 */
export async function startOrRefused(opts: TracerOptions & { backend: BackendName }): Promise<Tracer | undefined> {
  const missing = backendUnavailable(opts.backend);
  if (missing) {
    await expect(startTracer(opts)).rejects.toThrow(new RegExp(`backend "${opts.backend}" cannot run here: .*${missing === 'fentry' ? 'fentry' : 'kprobe'}`));
    return undefined;
  }
  const t = await startTracer(opts);
  expect(t.info.backend).toBe(opts.backend);
  return t;
}

/**
 * For a describe block of one backend: where this kernel cannot run it,
 * register the one test that asserts its refusal and return true (the
 * block's other tests are then not registered).
 */
export function refusedHere(backend: BackendName): boolean {
  if (!backendUnavailable(backend)) return false;
  it(`backend ${backend} is refused on this kernel, naming what it lacks`, async () => {
    expect(await startOrRefused({ backend })).toBeUndefined();
  });
  return true;
}

/**
 * One tracer for the tests of a describe block (each test looks at its own
 * ports): started before them, closed after. A start costs seconds in the
 * emulated guests of the kernel matrix.
 */
export function sharedTracer(opts: TracerOptions): (f: (t: Tracer) => Promise<void>) => Promise<void> {
  let t: Tracer | undefined;
  beforeAll(async () => {
    t = await startTracer(opts);
    expect(t.info.backend).toBe(opts.backend);
  });
  afterAll(() => {
    t?.close();
  });
  return (f) => f(t!);
}
