// What the tracer lost or could not count, from stats(): the numbers to read
// next to the counters (a table without them is a table nobody can trust).
import type { TracerStats } from '@tracer-bpf/tracer';

export interface Losses {
  /** Close records the kernel could not send (ring buffer full). */
  closedLost: number;
  /** perf transport: samples the kernel dropped (4 close records each). */
  closedLostSamples: number;
  /** Closed connections dropped from a reader's full queue. */
  closedQueueDropped: number;
  /** Connections not counted: the UDP flow map was full. */
  connStatsFull: number;
  /** TCP sockets not followed: the per-socket map was full. */
  sockStateFull: number;
  /** Kernel memory reads that failed. */
  readFailed: number;
  /** Entries in the tracer's maps and their capacity. */
  mapEntries: number;
  mapCapacity: number;
}

/** A kernel telemetry counter by its camelCase name (0 when this tracer version has no such counter). */
function kernelCounter(stats: TracerStats, name: string): number {
  const v = (stats.kernel as Readonly<Record<string, bigint | undefined>>)[name];
  return v === undefined ? 0 : Number(v);
}

export function lossesOf(stats: TracerStats): Losses {
  return {
    closedLost: kernelCounter(stats, 'closedLost'),
    closedLostSamples: stats.closedLostSamples,
    closedQueueDropped: stats.closedQueueDropped,
    connStatsFull: kernelCounter(stats, 'connStatsFull'),
    sockStateFull: kernelCounter(stats, 'sockStateFull'),
    readFailed: kernelCounter(stats, 'readFailed'),
    mapEntries: stats.connections,
    mapCapacity: stats.maxConnections,
  };
}

/** Anything was lost (what the header colours). */
export function anyLost(l: Losses): boolean {
  return l.closedLost + l.closedLostSamples + l.closedQueueDropped + l.connStatsFull + l.sockStateFull + l.readFailed > 0;
}
