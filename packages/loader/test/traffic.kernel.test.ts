// The user's story: attach the test object, open real loopback TCP
// connections, send known byte counts, and find exactly those counts on
// exactly that 4-tuple, read three ways (lookup, batch, iteration).
import { objects } from '@tracer-bpf/bpf';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BpfObject } from '../src/index.js';
import { AF_INET, AF_INET6, addrBytes, decodeKey, decodeValue, encodeKey } from './flow.js';
import { closeServer, ensureTracefs, exchange, listen, portOf } from './helpers.js';

const TCP = 6;

async function tracedObject(port: number): Promise<BpfObject> {
  const obj = BpfObject.open(objects.loaderTest);
  obj.setGlobal('target_port', port);
  await obj.load();
  obj.attachAll();
  return obj;
}

describe.each([
  ['IPv4', '127.0.0.1', AF_INET],
  ['IPv6', '::1', AF_INET6],
])('TCP traffic over %s loopback', (_label, host, family) => {
  let obj: BpfObject;
  let flows: { up: number; down: number; clientPort: number; serverPort: number }[] = [];

  beforeAll(async () => {
    ensureTracefs();
    const server = await listen(host);
    obj = await tracedObject(portOf(server));
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

  it('sees each connection reach ESTABLISHED and CLOSE once on each end (classic tracepoint)', () => {
    const m = obj.map('flows');
    const a = addrBytes(host);
    for (const f of flows) {
      for (const [sport, dport] of [
        [f.clientPort, f.serverPort],
        [f.serverPort, f.clientPort],
      ] as const) {
        const v = m.lookup(encodeKey({ saddr: a, daddr: a, sport, dport, family, protocol: TCP, kind: 1 }));
        expect(v, `state key ${sport}->${dport}`).toBeDefined();
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
    // 3 connections x (2 traffic + 2 state keys); the server's listening socket may add a CLOSE key.
    expect(batch.count).toBeGreaterThanOrEqual(12);
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
  ensureTracefs();
  const server = await listen('127.0.0.1');
  const obj = await tracedObject(portOf(server));
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
