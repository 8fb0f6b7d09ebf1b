// The user's story: attach the test object, open real loopback TCP
// connections, send known byte counts, and find exactly those counts on
// exactly that 4-tuple, read three ways (lookup, batch, iteration). Bytes are
// counted by each backend the kernel has (tp_btf, fentry/fexit,
// kprobe/kretprobe); state changes by a classic tracepoint and by tp_btf.
import { existsSync } from 'node:fs';
import { testObjects as objects } from '@tracer-bpf/bpf/test';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BpfObject, findTracefs, readTracepointFormat } from '../src/index.js';
import { AF_INET, AF_INET6, addrBytes, BYTE_BACKENDS, type ByteBackend, decodeKey, decodeValue, encodeKey, stateRecordGlobals } from './flow.js';
import { closeServer, ensureTracefs, exchange, listen, portOf } from './helpers.js';
import { expectedFeatures } from './kernel-expect.js';

const TCP = 6;

ensureTracefs();
const expected = expectedFeatures();
const BACKENDS: Array<[ByteBackend, boolean]> = [
  // sock_send_length / sock_recv_length appeared in 6.3: a kernel fact, read from tracefs.
  ['tp_btf', existsSync(`${findTracefs()}/events/sock/sock_send_length`)],
  ['fentry', expected.fentry.expected],
  ['kprobe', expected.kprobes.expected],
];

async function tracedObject(port: number, backend: ByteBackend): Promise<BpfObject> {
  const obj = BpfObject.open(objects.loaderTest);
  obj.setGlobal('target_port', port);
  obj.setGlobals(stateRecordGlobals(readTracepointFormat('sock', 'inet_sock_set_state')));
  for (const name of BYTE_BACKENDS[backend]) obj.program(name).setAutoload(true);
  await obj.load();
  const report = obj.attachAll();
  expect(report.failed.map((f) => f.error.message)).toEqual([]);
  return obj;
}

const CASES = BACKENDS.filter(([, has]) => has).flatMap(([backend]) => [
  [backend, 'IPv4', '127.0.0.1', AF_INET] as const,
  [backend, 'IPv6', '::1', AF_INET6] as const,
]);

it('runs at least one byte backend on this kernel', () => {
  expect(CASES.length).toBeGreaterThan(0);
});

describe.each(CASES)('bytes by %s, TCP over %s loopback', (backend, _label, host, family) => {
  let obj: BpfObject;
  let flows: { up: number; down: number; clientPort: number; serverPort: number }[] = [];

  beforeAll(async () => {
    const server = await listen(host);
    obj = await tracedObject(portOf(server), backend);
    flows = [];
    for (const [up, down] of [
      [1000, 500],
      [1, 70_000],
      [123_457, 3],
    ] as const) {
      const e = await exchange(server, host, up, down);
      flows.push({ up, down, ...e });
    }
    await closeServer(server);
  });
  afterAll(() => obj?.close());

  it('counts exactly the bytes sent and received on each 4-tuple, both ends', () => {
    const m = obj.map('flows');
    const a = addrBytes(host);
    for (const f of flows) {
      const client = m.lookup(encodeKey({ saddr: a, daddr: a, sport: f.clientPort, dport: f.serverPort, family, protocol: TCP, kind: 0 }));
      const server = m.lookup(encodeKey({ saddr: a, daddr: a, sport: f.serverPort, dport: f.clientPort, family, protocol: TCP, kind: 0 }));
      expect(client, `client side of ${f.clientPort}->${f.serverPort}`).toBeDefined();
      expect(server, `server side of ${f.serverPort}->${f.clientPort}`).toBeDefined();
      const c = decodeValue(client as Buffer);
      const s = decodeValue(server as Buffer);
      expect(c.sentBytes).toBe(BigInt(f.up));
      expect(c.recvBytes).toBe(BigInt(f.down));
      expect(s.recvBytes).toBe(BigInt(f.up));
      expect(s.sentBytes).toBe(BigInt(f.down));
    }
  });

  it('sees each connection reach ESTABLISHED and CLOSE once on each end (tracepoint and tp_btf)', () => {
    const m = obj.map('flows');
    const a = addrBytes(host);
    for (const f of flows) {
      for (const [sport, dport, kind] of [
        [f.clientPort, f.serverPort, 1],
        [f.serverPort, f.clientPort, 1],
        [f.clientPort, f.serverPort, 2],
        [f.serverPort, f.clientPort, 2],
      ] as const) {
        const v = m.lookup(encodeKey({ saddr: a, daddr: a, sport, dport, family, protocol: TCP, kind }));
        expect(v, `state key ${sport}->${dport} kind ${kind}`).toBeDefined();
        const d = decodeValue(v as Buffer);
        expect(d.established).toBe(1n);
        expect(d.closed).toBe(1n);
      }
    }
  });

  it('reads the same entries with lookup, batch lookup and key iteration', () => {
    const m = obj.map('flows');
    const batch = m.readAll({ method: 'batch', batchSize: 2 });
    const iter = m.readAll({ method: 'iterate' });
    expect(batch.method).toBe('batch');
    expect(iter.method).toBe('iterate');
    // 3 connections x (2 byte keys + 2 x 2 state keys); the listening socket may add CLOSE keys.
    expect(batch.count).toBeGreaterThanOrEqual(18);
    const asMap = (d: typeof batch) => {
      const out = new Map<string, string>();
      for (let i = 0; i < d.count; i++) {
        out.set(d.keys.subarray(i * 48, (i + 1) * 48).toString('hex'), d.values.subarray(i * 48, (i + 1) * 48).toString('hex'));
      }
      return out;
    };
    const b = asMap(batch);
    expect(asMap(iter)).toEqual(b);
    expect(b.size).toBe(batch.count); // no duplicates
    for (const [k, v] of b) expect(m.lookup(Buffer.from(k, 'hex'))?.toString('hex')).toBe(v);
    for (const k of m.keys()) expect(b.has(k.toString('hex'))).toBe(true);
    // Every key is on the target port and of the expected family.
    const port = flows[0]?.serverPort;
    for (const k of b.keys()) {
      const key = decodeKey(Buffer.from(k, 'hex'));
      expect(key.family).toBe(family);
      expect(key.sport === port || key.dport === port).toBe(true);
    }
  });

  it('per-CPU counters sum to the per-flow call counts', () => {
    const calls = obj.map('calls');
    expect(calls.perCpu).toBe(true);
    const key = Buffer.alloc(4);
    const sum = (idx: number) => {
      key.writeUInt32LE(idx);
      const v = calls.lookup(key) as Buffer;
      return calls.perCpuValues(v).reduce((s, b) => s + b.readBigUInt64LE(0), 0n);
    };
    const d = obj.map('flows').readAll();
    let sent = 0n;
    let recv = 0n;
    for (let i = 0; i < d.count; i++) {
      const v = decodeValue(d.values.subarray(i * 48, (i + 1) * 48));
      sent += v.sentCalls;
      recv += v.recvCalls;
    }
    expect(sent).toBeGreaterThan(0n);
    expect(sum(0)).toBe(sent);
    expect(sum(1)).toBe(recv);
  });
});

it('counts nothing once the links are closed', async () => {
  const server = await listen('127.0.0.1');
  const obj = await tracedObject(portOf(server), (CASES[0]?.[0] ?? 'tp_btf') as ByteBackend);
  try {
    for (const l of obj.links) l.close();
    expect(obj.links).toHaveLength(0);
    await exchange(server, '127.0.0.1', 1000, 1000);
    expect(obj.map('flows').readAll().count).toBe(0);
  } finally {
    obj.close();
    await closeServer(server);
  }
});
