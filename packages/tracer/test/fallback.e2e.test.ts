// A kernel without a feature: turned off here with the loader's
// TRACER_BPF_FEATURES_OFF (the feature probe then reports it missing without
// trying it), 'auto' takes the next transport or backend and says why in one
// line, and the tracer counts exactly on what it chose; a forced choice that
// cannot run is a one-line error, never a crash. (A forced fentry or kprobe
// backend on this kernel, which really lacks both, is in start.kernel.test.ts.)
// Host only (root, the real kernel).
import { resetFeatureCache } from '@tracer-bpf/loader';
import { afterEach, describe, expect, it } from 'vitest';
import { Tracer, TracerError } from '../src/index.js';
import { exchange } from './stories.js';

const ENV = 'TRACER_BPF_FEATURES_OFF';

function turnOff(features: string): void {
  process.env[ENV] = features;
  resetFeatureCache();
}

afterEach(() => {
  delete process.env[ENV];
  resetFeatureCache();
});

/** One loopback exchange: `up` bytes, `down` back, both close; the ports. */
async function countsExactly(t: Tracer): Promise<void> {
  const { clientPort, serverPort } = await exchange('127.0.0.1', 1234, 567);
  await new Promise((r) => setTimeout(r, 50));
  const mine = t.snapshot().toObjects().filter((c) => c.protocol === 'tcp' && c.localPort === clientPort && c.remotePort === serverPort);
  expect(mine).toHaveLength(1);
  expect(mine[0]).toMatchObject({ sentBytes: 1234, recvBytes: 567, closed: 'destroyed', pid: process.pid });
}

const oneLine = (s: string) => expect(s).not.toMatch(/\n/);

describe('a missing feature leads to the next choice', () => {
  it('no ring buffer: transport auto takes the perf batches, says why, and delivers closes', async () => {
    turnOff('ringbuf');
    const t = await Tracer.start({ backend: 'tp_btf' });
    try {
      expect(t.info.transport).toBe('perf');
      expect(t.info.transportReason).toMatch(/^no ring buffer \(ringbuf is turned off \(TRACER_BPF_FEATURES_OFF=ringbuf\)\): per-CPU batches on a perf buffer$/);
      oneLine(t.info.transportReason);
      await countsExactly(t);
    } finally {
      t.close();
    }
  });

  it('no ring buffer, ring buffer forced: a one-line ERR_NO_TRANSPORT', async () => {
    turnOff('ringbuf');
    const e = await Tracer.start({ backend: 'tp_btf', transport: 'ringbuf' }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(TracerError);
    expect(e).toMatchObject({ code: 'ERR_NO_TRANSPORT' });
    expect((e as Error).message).toMatch(/^transport: "ringbuf" is not available here \(ringbuf is turned off/);
    oneLine((e as Error).message);
  });

  it('no tp_btf: backend auto skips fentry, kprobe and tp_btf, each with its reason, and runs on tracepoints', async () => {
    turnOff('tpBtf');
    const t = await Tracer.start();
    try {
      expect(t.info.backend).toBe('tracepoint');
      expect(t.info.backendReason).toMatch(/^auto: fentry: .+; kprobe: .+; tp_btf: tp_btf is not available \(tpBtf is turned off/);
      oneLine(t.info.backendReason);
      await countsExactly(t);
    } finally {
      t.close();
    }
  });

  it('no tp_btf, tp_btf forced: a one-line ERR_NO_BACKEND naming it', async () => {
    turnOff('tpBtf');
    const e = await Tracer.start({ backend: 'tp_btf' }).catch((x: unknown) => x);
    expect(e).toMatchObject({ code: 'ERR_NO_BACKEND' });
    expect((e as Error).message).toMatch(/^backend "tp_btf" cannot run here: tp_btf is not available \(tpBtf is turned off/);
    oneLine((e as Error).message);
  });

  it('neither: the tracepoint backend with perf batches, both said', async () => {
    turnOff('tpBtf, ringbuf');
    const t = await Tracer.start();
    try {
      expect([t.info.backend, t.info.transport]).toEqual(['tracepoint', 'perf']);
      await countsExactly(t);
    } finally {
      t.close();
    }
  });

  it('an unknown feature name in the variable is an error naming it, not ignored', async () => {
    turnOff('ringbuff');
    await expect(Tracer.start({ backend: 'tp_btf' })).rejects.toThrow(/TRACER_BPF_FEATURES_OFF: ringbuff is not one of kernelBtf, kprobes, fentry, tpBtf/);
  });
});
