// UDP flows have no destroy event on any kernel: they end by idle expiry,
// as conntrack does (an assured flow, seen both ways, lives longer), and are
// delivered as closed connections with reason 'expired'.
import { readFileSync } from 'node:fs';

export interface UdpTimeouts {
  /** Idle timeout of a flow seen one way, ms. */
  oneWayMs: number;
  /** Idle timeout of an assured flow (seen both ways), ms. */
  assuredMs: number;
}

function sysctlSeconds(name: string): number | undefined {
  try {
    const v = Number(readFileSync(`/proc/sys/net/netfilter/${name}`, 'utf8').trim());
    return Number.isFinite(v) && v > 0 ? v : undefined;
  } catch {
    return undefined;
  }
}

/** The host's conntrack UDP timeouts when it has them, else conntrack's defaults (30 s / 120 s). */
export function defaultUdpTimeouts(): UdpTimeouts {
  return {
    oneWayMs: (sysctlSeconds('nf_conntrack_udp_timeout') ?? 30) * 1000,
    assuredMs: (sysctlSeconds('nf_conntrack_udp_timeout_stream') ?? 120) * 1000,
  };
}

/** CLOCK_MONOTONIC now, in ns: the clock of bpf_ktime_get_ns(). */
export function monotonicNs(): bigint {
  return process.hrtime.bigint();
}
