// The tracer starts on this kernel with every backend and transport it
// allows, says what it chose and why, counts one real exchange exactly and
// releases everything on close.
import { readdirSync, readFileSync } from 'node:fs';
import { version } from 'node:os';
import { describe, expect, it } from 'vitest';
import { type BackendName, FUNCTION_HOOKS, Tracer, TracerError, type Transport } from '../src/index.js';
import { expectCleanStats, expectStartInfo, kernelAtLeast, startOrRefused, startTracer } from './backends.js';
import { exchange } from './stories.js';

/** BPF links, programs and maps this process holds (fds whose fdinfo names one): never anyone else's. */
function ownBpfFds(): number {
  let n = 0;
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      if (/^(link_id|prog_id|map_id):/m.test(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))) n++;
    } catch {
      // closed meanwhile
    }
  }
  return n;
}

// The third column forces the hot path's kernel reads ('auto': direct loads on tp_btf and fentry,
// probe reads on tracepoints and kprobes); the fourth runs every other function hook of the fentry
// backend as kprobes (kprobeHooks: the per-hook fallback, forced on a kernel with fentry).
const MIXED = FUNCTION_HOOKS.filter((_, i) => i % 2 === 1).map((h) => h.name);
// The combinations tcp.kernel.test.ts runs its whole story on (fentry, kprobe and tp_btf on the
// ring buffer, tracepoint on perf) are not repeated here: it checks the same start info there.
const COMBOS: (readonly [BackendName, Transport, 'auto' | 'probe', boolean])[] = [
  ['fentry', 'ringbuf', 'auto', true],
  ['fentry', 'perf', 'auto', false],
  ['fentry', 'ringbuf', 'probe', false],
  ['kprobe', 'perf', 'auto', false],
  ['tp_btf', 'perf', 'auto', false],
  ['tp_btf', 'ringbuf', 'probe', false],
  ['tracepoint', 'ringbuf', 'auto', false],
];

describe.each(COMBOS)('backend %s, transport %s, kernel reads %s, half the hooks as kprobes %s', (backend, transport, kernelReads, mixed) => {
  it('counts one TCP exchange exactly, on both ends, closed once', async () => {
    const rt = /PREEMPT_RT/.test((await import('node:os')).version());
    if (transport === 'perf' && rt) {
      await expect(startTracer({ backend, transport, kernelReads })).rejects.toThrow(/refused on a PREEMPT_RT kernel/);
      return;
    }
    const kprobeHooks = mixed ? MIXED : [];
    const t = await startOrRefused({ backend, transport, kernelReads, kprobeHooks });
    if (!t) return;
    try {
      expectStartInfo(t, { backend, transport, kernelReads, kprobeHooks });
      const { clientPort, serverPort } = await exchange('127.0.0.1', 1000, 500);
      await new Promise((r) => setTimeout(r, 100));
      const mine = t.snapshot().toObjects().filter((c) => c.protocol === 'tcp' && (c.localPort === serverPort || c.remotePort === serverPort));
      const client = mine.filter((c) => c.localPort === clientPort);
      const server = mine.filter((c) => c.localPort === serverPort);
      expect(client).toHaveLength(1);
      expect(server).toHaveLength(1);
      expect(client[0]).toMatchObject({ remotePort: serverPort, direction: 'outgoing', sentBytes: 1000, recvBytes: 500, pid: process.pid, closed: 'destroyed', localAddress: '127.0.0.1', family: 'ipv4' });
      expect(server[0]).toMatchObject({ remotePort: clientPort, direction: 'incoming', sentBytes: 500, recvBytes: 1000, pid: process.pid, closed: 'destroyed' });
      // closed connections are delivered once: the next snapshot has neither
      const again = t.snapshot().toObjects().filter((c) => c.localPort === serverPort || c.remotePort === serverPort);
      expect(again).toEqual([]);
      expectCleanStats(t);
    } finally {
      t.close();
    }
  });
});

describe('start and close', () => {
  it('names a bad option', async () => {
    await expect(startTracer({ backend: 'nope' as never })).rejects.toThrow(TracerError);
    await expect(startTracer({ backend: 'nope' as never })).rejects.toThrow(/backend: "nope" is not one of/);
    await expect(startTracer({ maxConnections: 0 })).rejects.toThrow(/maxConnections: expected an integer/);
    await expect(startTracer({ ringBytes: 5000 })).rejects.toThrow(/ringBytes: expected a power of two/);
    await expect(startTracer({ kernelReads: 'fast' as never })).rejects.toThrow(/kernelReads: expected 'auto', 'direct' or 'probe', got fast/);
    await expect(startTracer({ backend: 'tracepoint', kernelReads: 'direct' })).rejects.toThrow(/kernelReads 'direct' needs a backend with BTF-typed sockets/);
    await expect(startTracer({ backend: 'tp_btf', kprobeHooks: ['tcp nope'] })).rejects.toThrow(/kprobeHooks: "tcp nope" is not a hook \(tcp send, tcp receive/);
    await expect(startTracer({ mapPrealloc: 'yes' as never })).rejects.toThrow(/mapPrealloc: expected true, false or 'auto', got yes/);
    await expect(startTracer({ tpBtfCheck: 'maybe' as never })).rejects.toThrow(/tpBtfCheck: expected 'load' or 'probe', got maybe/);
  });

  it('leaves no link, program or map of ours behind after close, and after an abort signal', async () => {
    const before = ownBpfFds();
    const t = await startTracer({ backend: 'tp_btf' });
    expect(ownBpfFds()).toBeGreaterThan(before);
    t.close();
    t.close();
    expect(ownBpfFds()).toBe(before);
    expect(() => t.snapshot().toObjects()).toThrow(/the tracer is closed/);
    const ac = new AbortController();
    const t2 = await startTracer({ backend: 'tp_btf', signal: ac.signal });
    ac.abort();
    expect(t2.closed).toBe(true);
    expect(ownBpfFds()).toBe(before);
  });
});

/** map_flags of this process's hash maps with `maxEntries` entries, from their fdinfo. */
function hashMapFlags(maxEntries: number): number[] {
  const out: number[] = [];
  for (const fd of readdirSync('/proc/self/fd')) {
    let info = '';
    try {
      info = readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8');
    } catch {
      continue;
    }
    if (!/^map_type:\s+1$/m.test(info) || !new RegExp(`^max_entries:\\s+${maxEntries}$`, 'm').test(info)) continue;
    out.push(Number(/^map_flags:\s+(0x[0-9a-f]+)$/m.exec(info)?.[1] ?? NaN));
  }
  return out;
}

describe('start-up choices', () => {
  // 6.1+ and not PREEMPT_RT: the kernel's BPF memory allocator lets tracing programs use maps allocated at run time.
  const allocator = kernelAtLeast(6, 1) && !/PREEMPT_RT/.test(version());
  const MAX = 12_289; // no other map of ours has this size

  it.each([['auto'], [true], [false]] as const)('mapPrealloc %s: the connection maps are created as info says, and count an exchange', async (mapPrealloc) => {
    if (mapPrealloc === false && !kernelAtLeast(6, 1)) {
      await expect(startTracer({ backend: 'tracepoint', mapPrealloc, maxConnections: MAX })).rejects.toThrow(/mapPrealloc false needs a 6\.1\+ kernel/);
      return;
    }
    const started = startTracer({ backend: 'tracepoint', mapPrealloc, maxConnections: MAX });
    if (mapPrealloc === false && !allocator) {
      // PREEMPT_RT 6.1+: 'auto' keeps preallocation; forced off, the kernel decides (a refusal names preallocation)
      const refusal = await started.then((t) => (t.close(), undefined), (e: unknown) => e);
      if (refusal) expect(String(refusal)).toMatch(/prealloc/);
      return;
    }
    const t = await started;
    try {
      const prealloc = mapPrealloc === 'auto' ? !allocator : mapPrealloc;
      expect(t.info.mapPrealloc).toBe(prealloc);
      expect(t.info.mapPreallocReason).toMatch(mapPrealloc === 'auto' ? /^auto: / : /^forced by the mapPrealloc option$/);
      // sock_state and conn_stats (and port_bindings, udp_calls): BPF_F_NO_PREALLOC (1) exactly when not preallocated
      expect(hashMapFlags(MAX).map((f) => f & 1)).toEqual(prealloc ? [0, 0] : [1, 1]);
      expect(hashMapFlags(16_384).map((f) => f & 1)).toEqual(prealloc ? [0, 0] : [1, 1]);
      const { clientPort, serverPort } = await exchange('127.0.0.1', 700, 300);
      await new Promise((r) => setTimeout(r, 100));
      const client = t.snapshot().filter((c) => c.protocol === 'tcp' && c.localPort === clientPort && c.remotePort === serverPort);
      expect(client).toHaveLength(1);
      expect(client[0]).toMatchObject({ sentBytes: 700, recvBytes: 300, closed: 'destroyed', pid: process.pid });
    } finally {
      t.close();
    }
  });

  it("tpBtfCheck 'probe' (the feature probe first) and 'load' (the load decides) start the same tp_btf tracer; info.startTimings names each phase", async () => {
    for (const tpBtfCheck of ['probe', 'load'] as const) {
      const t = await startOrRefused({ backend: 'tp_btf', tpBtfCheck });
      if (!t) continue;
      try {
        expect(t.info.backend).toBe('tp_btf');
        expect(t.info.backendReason).toBe('forced by the backend option');
        expect(Object.keys(t.info.startTimings)).toEqual(['btf', 'offsets', 'backend', 'staleProbeEvents', 'transport', 'programs', 'kallsyms', 'globals', 'load', 'ports', 'attach']);
        for (const ms of Object.values(t.info.startTimings)) expect(ms).toBeGreaterThanOrEqual(0);
      } finally {
        t.close();
      }
    }
  });
});
