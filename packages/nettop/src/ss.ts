// The kernel's own TCP byte counters per socket, from `ss -tin` (TCP_INFO over
// sock_diag netlink, which Node cannot open itself).
import { execFile } from 'node:child_process';

export interface SsSocket {
  state: string;
  localAddress: string;
  localPort: number;
  remoteAddress: string;
  remotePort: number;
  /** Recv-Q / Send-Q: for an established socket rcv_nxt - copied_seq and write_seq - snd_una. */
  recvQ: number;
  sendQ: number;
  /** TCP_INFO fields as ss prints them (absent when the kernel or ss does not report them, or, for the optional ones, when 0). */
  bytesSent?: number;
  bytesRetrans?: number;
  bytesAcked?: number;
  bytesReceived?: number;
  notsent?: number;
}

/** "127.0.0.1:80", "[::1]:80", "[::ffff:10.0.0.1]:80", "10.0.0.1%lo:53" into address and port; IPv4-mapped IPv6 as IPv4 (as the tracer reports it). */
export function parseEndpoint(s: string): { address: string; port: number } | undefined {
  const colon = s.lastIndexOf(':');
  if (colon <= 0) return undefined;
  const port = Number(s.slice(colon + 1));
  if (!Number.isInteger(port)) return undefined;
  // The interface scope goes inside or after the brackets: [fe80::1%eth0], [::ffff:1.2.3.4]%eth0, 1.2.3.4%lo.
  const address = s.slice(0, colon).replace(/%[^\]]*/, '').replace(/^\[(.*)\]$/, '$1').toLowerCase();
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(address);
  return { address: mapped ? mapped[1]! : address, port };
}

const FIELDS: Record<string, keyof SsSocket> = {
  bytes_sent: 'bytesSent',
  bytes_retrans: 'bytesRetrans',
  bytes_acked: 'bytesAcked',
  bytes_received: 'bytesReceived',
  notsent: 'notsent',
};

/**
 * Parse `ss -tin` (with or without its header line): a socket line (State
 * Recv-Q Send-Q Local Peer), then its TCP_INFO on continuation lines that
 * start with white space (or on the same line with ss -O).
 */
export function parseSs(text: string): SsSocket[] {
  const out: SsSocket[] = [];
  let cur: SsSocket | undefined;
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    if (!/^\s/.test(line)) {
      cur = undefined;
      const [state, recvQ, sendQ, local, peer] = line.trim().split(/\s+/);
      const l = local === undefined ? undefined : parseEndpoint(local);
      const p = peer === undefined ? undefined : parseEndpoint(peer);
      if (!state || state === 'State' || !l || !p || !/^\d+$/.test(recvQ ?? '') || !/^\d+$/.test(sendQ ?? '')) continue;
      cur = { state, localAddress: l.address, localPort: l.port, remoteAddress: p.address, remotePort: p.port, recvQ: Number(recvQ), sendQ: Number(sendQ) };
      out.push(cur);
    }
    if (!cur) continue;
    for (const m of line.matchAll(/(?:^|\s)(bytes_sent|bytes_retrans|bytes_acked|bytes_received|notsent):(\d+)/g)) {
      (cur as unknown as Record<string, number>)[FIELDS[m[1]!]!] = Number(m[2]);
    }
  }
  return out;
}

/** Run `ss -tinH` in this network namespace; undefined when ss is not installed or fails. */
export function readSs(timeoutMs = 5000): Promise<SsSocket[] | undefined> {
  return new Promise((resolve) => {
    execFile('ss', ['-tinH'], { timeout: timeoutMs, maxBuffer: 256 * 1024 * 1024 }, (err, stdout) => {
      resolve(err ? undefined : parseSs(stdout));
    });
  });
}
