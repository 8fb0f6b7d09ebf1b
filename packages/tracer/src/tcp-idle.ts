// A TCP socket's record leaves the kernel map at tcp_destroy_sock, so an
// alive connection is never expired for being idle (the seed's tracer
// dropped idle connections). A record whose destroy was never seen would
// stay forever, though: one idle longer than tcpIdleCheckMs is checked
// against the kernel's own socket table of its network namespace
// (/proc/<pid>/net/tcp and tcp6, read through a process in that namespace),
// and only a connection the kernel no longer has is removed. A TIME_WAIT
// entry does not keep a record: it is the kernel's small time-wait socket,
// made when the full socket (the one a record is kept for) was destroyed.
import { readFileSync } from 'node:fs';
import { formatAddress } from '@tracer-bpf/decode';

/** A connection as a socket table lists it: local and remote address and port (the names of a Connection's fields). */
export interface TableEntry {
  localAddress: string;
  localPort: number;
  remoteAddress: string;
  remotePort: number;
}

/** The `st` column of a TIME_WAIT entry (TCP_TIME_WAIT, in hex). */
const TIME_WAIT = 0x06;

/** The key of a table entry, or of a Connection (same fields) to look up in socketTables(). */
export const tableKey = (e: TableEntry): string => `${e.localAddress} ${e.localPort} ${e.remoteAddress} ${e.remotePort}`;

/** `0100007F:1F90` (tcp) or 32 hex digits and a port (tcp6): the address as the tracer writes it (v4-mapped as IPv4). */
function endpoint(text: string): { addr: string; port: number } | undefined {
  const [hex, portHex] = text.split(':');
  if (!hex || !portHex) return undefined;
  const port = Number.parseInt(portHex, 16);
  // Each 8-digit group is one 32-bit word of the address as the kernel holds it, printed as a native integer.
  const words = hex.match(/.{8}/g)?.map((w) => BigInt(`0x${w}`));
  if (!words || !Number.isInteger(port)) return undefined;
  if (words.length === 1) return { addr: formatAddress(0n, words[0]!, false), port };
  if (words.length !== 4) return undefined;
  return { addr: formatAddress(words[0]! | (words[1]! << 32n), words[2]! | (words[3]! << 32n), true), port };
}

/** Every connection of a /proc/net/tcp or tcp6 text (any state), with its TCP state number. */
export function parseSocketTable(text: string): (TableEntry & { state: number })[] {
  const out: (TableEntry & { state: number })[] = [];
  for (const line of text.split('\n').slice(1)) {
    const cols = line.trim().split(/\s+/);
    if (cols.length < 4) continue;
    const l = endpoint(cols[1]!);
    const r = endpoint(cols[2]!);
    const state = Number.parseInt(cols[3]!, 16);
    if (l && r && Number.isInteger(state)) out.push({ localAddress: l.addr, localPort: l.port, remoteAddress: r.addr, remotePort: r.port, state });
  }
  return out;
}

/**
 * The connections the kernel has full sockets for (every state but TIME_WAIT)
 * in each of `netns` (keys of tableKey), read
 * through `pids` (one process per namespace). A namespace without a process
 * (kept by a bind mount) or whose tables cannot be read is absent from the
 * result: its records are kept.
 */
export function socketTables(netns: Iterable<number>, pids: Map<number, number>): Map<number, Set<string>> {
  const out = new Map<number, Set<string>>();
  for (const ns of netns) {
    const pid = pids.get(ns);
    if (pid === undefined) continue;
    const keys = new Set<string>();
    let read = false;
    for (const f of ['tcp', 'tcp6']) {
      try {
        for (const e of parseSocketTable(readFileSync(`/proc/${pid}/net/${f}`, 'utf8'))) if (e.state !== TIME_WAIT) keys.add(tableKey(e));
        read = true;
      } catch {
        // no IPv6 (ipv6.disable=1), or the process just exited
      }
    }
    // A table that could not be read says nothing: the namespace's records are kept.
    if (read) out.set(ns, keys);
  }
  return out;
}
