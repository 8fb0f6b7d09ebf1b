// Several readers of one tracer (no kernel needed): each client gets every
// close once, bounded, and deltas against its own previous call.
import { describe, expect, it } from 'vitest';
import { Clients } from '../src/clients.js';
import type { Connection } from '../src/connection.js';

function conn(localPort: number, sent: bigint, recv: bigint, closed?: Connection['closed']): Connection {
  return {
    id: BigInt(localPort),
    idIsCookie: true,
    protocol: 'tcp',
    family: 'ipv4',
    pid: 42,
    command: 'curl',
    netns: 4026531840,
    localAddress: '127.0.0.1',
    localPort,
    remoteAddress: '127.0.0.1',
    remotePort: 80,
    direction: 'outgoing',
    sentBytes: sent,
    recvBytes: recv,
    sentPackets: sent / 100n,
    recvPackets: recv / 100n,
    start: 1n,
    lastUpdate: 2n,
    seenLate: false,
    assured: false,
    tcp: { retransmits: Number(sent / 1000n), rttUs: 10, rttVarUs: 5, segsOut: 1, segsIn: 1, states: ['ESTABLISHED'], state: 'ESTABLISHED' },
    closed,
  };
}

const deltas = (xs: ReturnType<Clients['take']>) => xs.map((c) => [c.localPort, c.delta.sentBytes, c.delta.recvBytes, c.delta.retransmits, c.closed]);

describe('Clients', () => {
  it('gives each client deltas against its own previous call', () => {
    const cl = new Clients(10, 60_000);
    expect(deltas(cl.take('a', [conn(1, 1000n, 200n)], 0))).toEqual([[1, 1000n, 200n, 1, undefined]]);
    expect(deltas(cl.take('a', [conn(1, 3000n, 200n)], 1))).toEqual([[1, 2000n, 0n, 2, undefined]]);
    // b is new: everything so far
    expect(deltas(cl.take('b', [conn(1, 3500n, 300n)], 2))).toEqual([[1, 3500n, 300n, 3, undefined]]);
    expect(deltas(cl.take('a', [conn(1, 3500n, 300n)], 3))).toEqual([[1, 500n, 100n, 0, undefined]]);
    // the same counters on another tuple or pid are another connection
    expect(deltas(cl.take('a', [conn(1, 3500n, 300n), { ...conn(1, 10n, 0n), pid: 7 }], 4))).toEqual([
      [1, 0n, 0n, 0, undefined],
      [1, 10n, 0n, 0, undefined],
    ]);
  });

  it('delivers each close once to every client registered when it happened, with its last delta', () => {
    const cl = new Clients(10, 60_000);
    cl.add('a', 0);
    cl.take('b', [conn(1, 100n, 0n)], 0);
    cl.push(conn(1, 150n, 10n, 'destroyed'));
    cl.add('late', 1); // registered after the close: never sees it
    expect(deltas(cl.take('a', [], 2))).toEqual([[1, 150n, 10n, 0, 'destroyed']]);
    expect(deltas(cl.take('b', [], 2))).toEqual([[1, 50n, 10n, 0, 'destroyed']]);
    expect(cl.take('late', [], 2)).toEqual([]);
    expect(cl.take('a', [], 3)).toEqual([]);
    expect(cl.take('b', [], 3)).toEqual([]);
  });

  it('bounds each queue and counts what it dropped, per client', () => {
    const cl = new Clients(3, 60_000);
    cl.add('slow', 0);
    cl.add('fast', 0);
    for (let i = 0; i < 5; i++) {
      cl.push(conn(i, 1n, 1n, 'destroyed'));
      if (i === 1) expect(cl.take('fast', [], 0)).toHaveLength(2);
    }
    expect(cl.stats()).toEqual([
      { name: 'slow', queued: 3, dropped: 2, lastCallMs: 0 },
      { name: 'fast', queued: 3, dropped: 0, lastCallMs: 0 },
    ]);
    expect(cl.dropped).toBe(2);
    expect(cl.take('slow', [], 1).map((c) => c.localPort)).toEqual([0, 1, 2]);
  });

  it('drops a client silent for longer than the limit, with its queue', () => {
    const cl = new Clients(10, 1000);
    cl.take('a', [], 0);
    cl.take('b', [], 500);
    cl.push(conn(1, 1n, 1n, 'destroyed'));
    expect(cl.expire(1200)).toBe(1);
    expect(cl.stats().map((s) => s.name)).toEqual(['b']);
    expect(cl.expired).toBe(1);
    // a comes back as a new client: the close it missed is gone
    expect(cl.take('a', [], 1300)).toEqual([]);
    expect(cl.take('b', [], 1300)).toHaveLength(1);
  });
});
