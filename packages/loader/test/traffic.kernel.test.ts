// The user's story: attach the test object, open real loopback TCP
// connections, send known byte counts, and find exactly those counts on
// exactly that 4-tuple, read three ways (lookup, batch, iteration). Bytes are
// counted by each backend the kernel has (tp_btf, fentry/fexit,
// kprobe/kretprobe); state changes by a classic tracepoint and by tp_btf.
import { existsSync } from 'node:fs';
import { testObjects as objects } from '@tracer-bpf/bpf/test';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BpfObject, findTracefs, readTracepointFormat } from '../src/index.js';
import { AF_INET, AF_INET6, addrBytes, BYTE_BACKENDS, type ByteBackend, FLOW_KIND, flow, stateRecordGlobals } from './flow.js';
import { closeServer, ensureTracefs, exchange, listen, portOf } from './helpers.js';
import { expectedFeatures } from './kernel-expect.js';

const TCP = 6;

ensureTracefs();
const expected = expectedFeatures();
const sendLength = `${findTracefs()}/events/sock/sock_send_length`;
/** Every byte backend, with whether this kernel must run it and why: the ones it lacks are skipped, not left out. */
const BACKENDS: Array<[ByteBackend, boolean, string]> = [
  // sock_send_length / sock_recv_length appeared in 6.3: a kernel fact, read from tracefs.
  ['tp_btf', existsSync(sendLength), `${sendLength} ${existsSync(sendLength) ? 'exists' : 'is missing (before 6.3)'}`],
  ['fentry', expected.fentry.expected, expected.fentry.why],
  ['kprobe', expected.kprobes.expected, expected.kprobes.why],
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

const CASES = BACKENDS.flatMap(([backend, has, why]) =>
  ([['IPv4', '127.0.0.1', AF_INET], ['IPv6', '::1', AF_INET6]] as const).map(([label, host, family]) => ({
    backend,
    label,
    host,
    family,
    has,
    note: has ? '' : ` (skipped: ${why})`,
  })),
);
const RUN = CASES.filter((c) => c.has);

it('runs at least one byte backend on this kernel', () => {
  expect(RUN.length).toBeGreaterThan(0);
});

// A backend this kernel lacks is an explicit skip (counted in the pins), its reason in the title.
for (const { backend, label, host, family, has, note } of CASES) describe(`bytes by ${backend}, TCP over ${label} loopback${note}`, () => {
  let obj: BpfObject;
  let flows: { up: number; down: number; clientPort: number; serverPort: number }[] = [];

  beforeAll(async () => {
    if (!has) return;
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

  it.skipIf(!has)('counts exactly the bytes sent and received on each 4-tuple, both ends', () => {
    const m = obj.map('flows');
    const a = addrBytes(host);
    for (const f of flows) {
      const client = m.lookup(flow.encodeKey({ saddr: a, daddr: a, sport: f.clientPort, dport: f.serverPort, family, protocol: TCP, kind: FLOW_KIND.bytes }));
      const server = m.lookup(flow.encodeKey({ saddr: a, daddr: a, sport: f.serverPort, dport: f.clientPort, family, protocol: TCP, kind: FLOW_KIND.bytes }));
      expect(client, `client side of ${f.clientPort}->${f.serverPort}`).toBeDefined();
      expect(server, `server side of ${f.serverPort}->${f.clientPort}`).toBeDefined();
      const c = flow.decodeValue(client as Buffer);
      const s = flow.decodeValue(server as Buffer);
      expect(c.sentBytes).toBe(BigInt(f.up));
      expect(c.recvBytes).toBe(BigInt(f.down));
      expect(s.recvBytes).toBe(BigInt(f.up));
      expect(s.sentBytes).toBe(BigInt(f.down));
    }
  });

  it.skipIf(!has)('sees each connection reach ESTABLISHED and CLOSE once on each end (tracepoint and tp_btf)', () => {
    const m = obj.map('flows');
    const a = addrBytes(host);
    for (const f of flows) {
      for (const [sport, dport, kind] of [
        [f.clientPort, f.serverPort, FLOW_KIND.stateTracepoint],
        [f.serverPort, f.clientPort, FLOW_KIND.stateTracepoint],
        [f.clientPort, f.serverPort, FLOW_KIND.stateTpBtf],
        [f.serverPort, f.clientPort, FLOW_KIND.stateTpBtf],
      ] as const) {
        const v = m.lookup(flow.encodeKey({ saddr: a, daddr: a, sport, dport, family, protocol: TCP, kind }));
        expect(v, `state key ${sport}->${dport} kind ${kind}`).toBeDefined();
        const d = flow.decodeValue(v as Buffer);
        expect(d.established).toBe(1n);
        expect(d.closed).toBe(1n);
      }
    }
  });

  it.skipIf(!has)('reads the same entries with lookup, batch lookup and key iteration', () => {
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
        const [k, v] = [flow.keySize, flow.valueSize];
        out.set(d.keys.subarray(i * k, (i + 1) * k).toString('hex'), d.values.subarray(i * v, (i + 1) * v).toString('hex'));
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
      const key = flow.decodeKey(Buffer.from(k, 'hex'));
      expect(key.family).toBe(family);
      expect(key.sport === port || key.dport === port).toBe(true);
    }
  });

  it.skipIf(!has)('per-CPU counters sum to the per-flow call counts', () => {
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
      const v = flow.decodeValue(d.values.subarray(i * flow.valueSize, (i + 1) * flow.valueSize));
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
  const obj = await tracedObject(portOf(server), RUN[0]?.backend ?? 'tp_btf');
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
