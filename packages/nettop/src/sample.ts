// One sample: what `--json` prints (schema 1) and what the table shows.
import type { ClientConnection, TracerInfo } from '@tracer-bpf/tracer';
import type { Accuracy } from './accuracy.js';
import { type Filter, matches } from './filter.js';
import type { Losses } from './losses.js';

/** Bumped on any incompatible change of the JSON documents. */
export const SCHEMA_VERSION = 1;

export interface ConnectionRow {
  /** The tracer's connection id (socket cookie or assigned), decimal. */
  id: string;
  protocol: 'tcp' | 'udp';
  family: 'ipv4' | 'ipv6';
  pid: number;
  command: string | null;
  netns: number;
  localAddress: string;
  localPort: number;
  remoteAddress: string;
  remotePort: number;
  direction: 'incoming' | 'outgoing' | 'unknown';
  /** null while live; else why it ended: destroyed, failed, expired, unknown. */
  closed: string | null;
  /** TCP state last seen (ESTABLISHED, ...), null for UDP. */
  state: string | null;
  /** Totals since the tracer first saw the connection. */
  sentBytes: number;
  recvBytes: number;
  sentPackets: number;
  recvPackets: number;
  /** What moved during this sample's interval. */
  intervalSentBytes: number;
  intervalRecvBytes: number;
  /** Bytes per second over the interval. */
  sendRate: number;
  recvRate: number;
  /** TCP: retransmitted segments (total) and smoothed RTT in microseconds; null for UDP. */
  retransmits: number | null;
  rttUs: number | null;
  /** It existed before the tracer started: totals count from then. */
  seenLate: boolean;
}

export interface SampleDoc {
  schema: typeof SCHEMA_VERSION;
  /** When the sample was taken (ISO 8601, UTC). */
  time: string;
  /** Seconds the interval really lasted (the rates' denominator). */
  intervalSeconds: number;
  tracer: { kernel: string; backend: string; transport: string; offsets: string };
  losses: Losses;
  /** Our TCP byte counters against the kernel's (ss -tin); null when ss is missing. */
  accuracy: Accuracy | null;
  connections: ConnectionRow[];
}

export function toRow(c: ClientConnection, intervalSeconds: number): ConnectionRow {
  const perSecond = (n: number): number => (intervalSeconds > 0 ? n / intervalSeconds : 0);
  const { protocol, family, pid, netns, localAddress, localPort, remoteAddress, remotePort, direction, seenLate } = c;
  return {
    id: c.id.toString(),
    ...{ protocol, family, pid, command: c.command ?? null, netns, localAddress, localPort, remoteAddress, remotePort, direction },
    closed: c.closed ?? null,
    state: c.tcp?.state ?? null,
    sentBytes: c.sentBytes,
    recvBytes: c.recvBytes,
    sentPackets: c.sentPackets,
    recvPackets: c.recvPackets,
    intervalSentBytes: c.delta.sentBytes,
    intervalRecvBytes: c.delta.recvBytes,
    sendRate: perSecond(c.delta.sentBytes),
    recvRate: perSecond(c.delta.recvBytes),
    retransmits: c.tcp ? c.tcp.retransmits : null,
    rttUs: c.tcp ? c.tcp.rttUs : null,
    seenLate,
  };
}

/** Busiest first: by the interval's rate (both ways), then by total bytes, then by id for a stable order. */
export function byRate(a: ConnectionRow, b: ConnectionRow): number {
  return b.sendRate + b.recvRate - (a.sendRate + a.recvRate) || b.sentBytes + b.recvBytes - (a.sentBytes + a.recvBytes) || a.id.localeCompare(b.id);
}

export interface SampleInput {
  connections: Iterable<ClientConnection>;
  intervalSeconds: number;
  info: Pick<TracerInfo, 'kernel' | 'backend' | 'transport' | 'offsets'>;
  losses: Losses;
  accuracy: Accuracy | null;
  filter: Filter;
  now: Date;
}

/** The rows of the connections that match the filter (plain values: they outlive the tracer's list). */
function rows(s: SampleInput): ConnectionRow[] {
  const out: ConnectionRow[] = [];
  for (const c of s.connections) if (matches(c, s.filter)) out.push(toRow(c, s.intervalSeconds));
  return out;
}

export function buildSample(s: SampleInput): SampleDoc {
  return {
    schema: SCHEMA_VERSION,
    time: s.now.toISOString(),
    intervalSeconds: Math.round(s.intervalSeconds * 1000) / 1000,
    tracer: { kernel: s.info.kernel, backend: s.info.backend, transport: s.info.transport, offsets: s.info.offsets },
    losses: s.losses,
    accuracy: s.accuracy,
    connections: rows(s).sort(byRate),
  };
}
