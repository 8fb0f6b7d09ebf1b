// Connections and samples made up for the unit tests (no tracer, no root).
import type { ClientConnection } from '@tracer-bpf/tracer';
import type { Losses } from '../src/losses.js';

export function conn(over: Partial<ClientConnection> = {}): ClientConnection {
  return {
    id: 1n,
    idIsCookie: true,
    protocol: 'tcp',
    family: 'ipv4',
    pid: 100,
    command: 'curl',
    netns: 4026531840,
    localAddress: '127.0.0.1',
    localPort: 40000,
    remoteAddress: '127.0.0.1',
    remotePort: 80,
    direction: 'outgoing',
    sentBytes: 100,
    recvBytes: 1000,
    sentPackets: 2,
    recvPackets: 3,
    start: 1,
    lastUpdate: 2,
    seenLate: false,
    assured: false,
    tcp: { retransmits: 0, rttUs: 50, rttVarUs: 10, segsOut: 2, segsIn: 3, states: ['ESTABLISHED'], state: 'ESTABLISHED' },
    closed: undefined,
    delta: { sentBytes: 100, recvBytes: 1000, sentPackets: 2, recvPackets: 3, retransmits: 0 },
    ...over,
  };
}

export const NO_LOSSES: Losses = {
  closedLost: 0,
  closedLostSamples: 0,
  closedQueueDropped: 0,
  connStatsFull: 0,
  sockStateFull: 0,
  readFailed: 0,
  mapEntries: 10,
  mapCapacity: 65536,
};

export const INFO = { kernel: '6.18.0', backend: 'tp_btf', transport: 'ringbuf', offsets: 'btf' } as const;
