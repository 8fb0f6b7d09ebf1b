// Listening TCP ports of every network namespace in use, from
// /proc/<pid>/net/tcp{,6}: seeds the kernel's port bindings so that a
// connection first seen after start gets its direction right.
import { readdirSync, readFileSync, statSync } from 'node:fs';

export interface ListeningPort {
  netns: number;
  port: number;
}

const TCP_LISTEN = '0A';

/** Parse /proc/net/tcp or tcp6 text: the local ports in state LISTEN. */
export function parseListening(text: string): number[] {
  const out: number[] = [];
  for (const line of text.split('\n').slice(1)) {
    const cols = line.trim().split(/\s+/);
    if (cols.length < 4 || cols[3] !== TCP_LISTEN) continue;
    const port = Number.parseInt(cols[1]!.split(':')[1] ?? '', 16);
    if (Number.isInteger(port)) out.push(port);
  }
  return out;
}

/** One pid per network namespace in use (by inode). */
export function netnsRepresentatives(): Map<number, number> {
  const seen = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const ino = Number(statSync(`/proc/${name}/ns/net`).ino);
      if (!seen.has(ino)) seen.set(ino, Number(name));
    } catch {
      // the process exited, or is not ours to see
    }
  }
  return seen;
}

export function listeningPorts(): ListeningPort[] {
  const out: ListeningPort[] = [];
  for (const [netns, pid] of netnsRepresentatives()) {
    for (const f of ['tcp', 'tcp6']) {
      let text: string;
      try {
        text = readFileSync(`/proc/${pid}/net/${f}`, 'utf8');
      } catch {
        continue;
      }
      for (const port of parseListening(text)) out.push({ netns, port });
    }
  }
  return out;
}
