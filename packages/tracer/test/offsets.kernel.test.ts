// The tracer with guessed offsets (@tracer-bpf/offsetguess): it starts,
// says where its offsets came from, counts a real exchange exactly, and
// refuses the function-hook backends when the guessed offsets lack their
// fields (a kernel without kprobes).
import { guessOffsets, HOOK_FIELDS, offsetsFromBtf, type SockOffsets } from '@tracer-bpf/offsetguess';
import { describe, expect, it } from 'vitest';
import { type BackendName, Tracer } from '../src/index.js';
import { startOrRefused, startTracer } from './backends.js';
import { exchange } from './stories.js';

// Guessing is for kernels without BTF, which have neither tp_btf nor fentry: the 'guess' option is
// run with the two backends such a kernel has (every other tracer test already runs every backend
// with guessed offsets, given as an object; a guess costs seconds in the emulated guests).
describe.each(['tracepoint', 'kprobe'] as BackendName[])('backend %s with offsets: guess', (backend) => {
  it('starts with guessed offsets, says so, and counts one TCP exchange exactly', async () => {
    const t = await startOrRefused({ backend, offsets: 'guess' });
    if (!t) return;
    try {
      expect(t.info.offsets).toBe('guess');
      expect(t.info.offsetsReason).toMatch(/^forced by the offsets option: guessed in \d+ ms$/);
      const { clientPort, serverPort } = await exchange('127.0.0.1', 3000, 700);
      await new Promise((r) => setTimeout(r, 100));
      const mine = t.snapshot().toObjects().filter((c) => c.protocol === 'tcp' && (c.localPort === serverPort || c.remotePort === serverPort));
      expect(mine.filter((c) => c.localPort === clientPort)[0]).toMatchObject({ remotePort: serverPort, sentBytes: 3000, recvBytes: 700, pid: process.pid, closed: 'destroyed' });
      expect(mine.filter((c) => c.localPort === serverPort)[0]).toMatchObject({ remotePort: clientPort, sentBytes: 700, recvBytes: 3000, pid: process.pid, closed: 'destroyed' });
    } finally {
      t.close();
    }
  });
});

describe('offsets that lack the function hooks\' fields', () => {
  const btf = offsetsFromBtf();
  const lacking: SockOffsets = { ...btf, unavailable: {} };
  for (const f of HOOK_FIELDS) {
    delete lacking[f];
    lacking.unavailable![f] = 'guessed on a kernel without kprobes (test)';
  }

  it('refuse the fentry and kprobe backends, naming the fields and the reason', async () => {
    for (const backend of ['kprobe', 'fentry'] as const) {
      await expect(Tracer.start({ backend, offsets: lacking })).rejects.toThrow(/its function hooks read skbHead, skbNetworkHeader, skbTransportHeader, socketSk, msghdrName, which the offsets lack \(guessed on a kernel without kprobes \(test\)\)/);
    }
  });

  it('run the tracepoint backends; auto picks one of them', async () => {
    const t = await startTracer({ offsets: lacking });
    try {
      expect(['tp_btf', 'tracepoint']).toContain(t.info.backend);
      expect(t.info.offsetsReason).toBe('given by the offsets option');
    } finally {
      t.close();
    }
  });

  it('names a bad offsets option', async () => {
    await expect(Tracer.start({ offsets: 'nope' as never })).rejects.toThrow(/offsets: expected 'auto', 'btf', 'guess' or a SockOffsets object, got nope/);
  });

  it('a guess on this kernel lacks them exactly where kprobes are missing', async () => {
    const g = await guessOffsets();
    const missing = HOOK_FIELDS.filter((f) => g[f] === undefined);
    expect(missing.length === 0 || missing.length === HOOK_FIELDS.length).toBe(true);
    for (const f of missing) expect(g.unavailable?.[f]).toMatch(/kprobe/);
  });
});
