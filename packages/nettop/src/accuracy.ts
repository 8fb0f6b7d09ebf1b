// The accuracy figure: our TCP byte counters against the kernel's own
// (TCP_INFO via ss) for the live sockets both know.
import type { Connection } from '@tracer-bpf/tracer';
import type { SsSocket } from './ss.js';

export interface Accuracy {
  /** Established sockets of this network namespace seen by both (and by the tracer since they opened). */
  sockets: number;
  /** Worst |ours - kernel's| over those sockets, bytes, sent and received. */
  maxSentDiffBytes: number;
  maxRecvDiffBytes: number;
}

/**
 * What the kernel says a socket sent and received, on our definitions (data
 * bytes written / read by the application, SYN and FIN excluded):
 * sent = bytes_sent - bytes_retrans + notsent (data sent once, plus what
 * waits unsent) when ss prints bytes_sent (kernel 4.19+), else bytes_acked +
 * Send-Q, minus the SYN that bytes_acked counts on the connecting side;
 * received = bytes_received - Recv-Q (what arrived minus what the application
 * has not read yet).
 */
export function kernelBytes(s: SsSocket, outgoing: boolean): { sent: number | undefined; recv: number | undefined } {
  let sent: number | undefined;
  if (s.bytesSent !== undefined) sent = s.bytesSent - (s.bytesRetrans ?? 0) + (s.notsent ?? 0);
  else if (s.bytesAcked !== undefined) sent = s.bytesAcked + s.sendQ - (outgoing && s.bytesAcked > 0 ? 1 : 0);
  const recv = s.bytesReceived === undefined ? undefined : s.bytesReceived - s.recvQ;
  return { sent, recv };
}

const tupleKey = (a: string, ap: number, b: string, bp: number): string => `${a} ${ap} ${b} ${bp}`;

/**
 * Compare the live TCP connections of namespace `netns` that the tracer saw
 * open (not seenLate: those count from the tracer's start) with ss's
 * established sockets, matched by 4-tuple (a socket used by several
 * processes: the sum of its entries). Bytes that move between the two reads
 * show as a difference.
 */
export function compareAccuracy(conns: Iterable<Connection>, sockets: readonly SsSocket[], netns: number): Accuracy {
  const ours = new Map<string, { sent: number; recv: number; outgoing: boolean; late: boolean }>();
  for (const c of conns) {
    if (c.protocol !== 'tcp' || c.closed !== undefined || c.netns !== netns) continue;
    const k = tupleKey(c.localAddress, c.localPort, c.remoteAddress, c.remotePort);
    const o = ours.get(k) ?? { sent: 0, recv: 0, outgoing: c.direction === 'outgoing', late: false };
    o.sent += c.sentBytes;
    o.recv += c.recvBytes;
    o.late ||= c.seenLate;
    ours.set(k, o);
  }
  const acc: Accuracy = { sockets: 0, maxSentDiffBytes: 0, maxRecvDiffBytes: 0 };
  for (const s of sockets) {
    if (s.state !== 'ESTAB') continue;
    const o = ours.get(tupleKey(s.localAddress, s.localPort, s.remoteAddress, s.remotePort));
    if (!o || o.late) continue;
    const k = kernelBytes(s, o.outgoing);
    if (k.sent === undefined || k.recv === undefined) continue;
    acc.sockets++;
    acc.maxSentDiffBytes = Math.max(acc.maxSentDiffBytes, Math.abs(o.sent - k.sent));
    acc.maxRecvDiffBytes = Math.max(acc.maxRecvDiffBytes, Math.abs(o.recv - k.recv));
  }
  return acc;
}
