// The backends a kernel test runs on: all four, everywhere. Where this
// kernel cannot run one (the dev host has no kprobes and refuses fentry), a
// test asserts exactly that refusal instead of skipping, so a backend that
// silently ran nothing changes the pinned counts.
import { release } from 'node:os';
import { probeFeature } from '@tracer-bpf/loader';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type BackendName, Tracer, type TracerOptions } from '../src/index.js';

export const ALL_BACKENDS = ['fentry', 'kprobe', 'tp_btf', 'tracepoint'] as const satisfies readonly BackendName[];

/** Why this kernel cannot run the backend (the feature it lacks), or undefined. */
export function backendUnavailable(backend: BackendName): string | undefined {
  if (backend === 'fentry' && !probeFeature('fentry').supported) return 'fentry';
  if (backend === 'kprobe' && !probeFeature('kprobes').supported) return 'kprobes';
  return undefined;
}

/** The function-hook backends (fentry, kprobe): bytes per call and UDP on every kernel. */
export const hooked = (backend: BackendName): boolean => backend === 'fentry' || backend === 'kprobe';

/** Per-call bytes for this backend on this kernel (function hooks anywhere; tracepoints from 6.3). */
export function perCallOn(backend: BackendName): boolean {
  if (hooked(backend)) return true;
  const [maj, min] = release().split('.').map(Number) as [number, number];
  return maj > 6 || (maj === 6 && min >= 3);
}

/**
 * Start on `backend`, or, where this kernel cannot run it, assert the
 * refusal names the missing feature and return undefined.
 */
export async function startOrRefused(opts: TracerOptions & { backend: BackendName }): Promise<Tracer | undefined> {
  const missing = backendUnavailable(opts.backend);
  if (missing) {
    await expect(Tracer.start(opts)).rejects.toThrow(new RegExp(`backend "${opts.backend}" cannot run here: .*${missing === 'fentry' ? 'fentry' : 'kprobe'}`));
    return undefined;
  }
  const t = await Tracer.start(opts);
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
    t = await Tracer.start(opts);
    expect(t.info.backend).toBe(opts.backend);
  });
  afterAll(() => {
    t?.close();
  });
  return (f) => f(t!);
}
