// Which connections a sample shows (--proto, --port, --pid, --netns).
import type { Connection, Protocol } from '@tracer-bpf/tracer';

export interface Filter {
  protocol?: Protocol;
  /** Local or remote port. */
  port?: number;
  pid?: number;
  netns?: number;
}

export function matches(c: Connection, f: Filter): boolean {
  if (f.protocol !== undefined && c.protocol !== f.protocol) return false;
  if (f.port !== undefined && c.localPort !== f.port && c.remotePort !== f.port) return false;
  if (f.pid !== undefined && c.pid !== f.pid) return false;
  if (f.netns !== undefined && c.netns !== f.netns) return false;
  return true;
}
