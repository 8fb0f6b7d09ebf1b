// Where tracefs is mounted (classic tracepoints and legacy kprobes need it).
import { existsSync } from 'node:fs';
import { BpfNotSupportedError } from './errors.js';

const CANDIDATES = ['/sys/kernel/tracing', '/sys/kernel/debug/tracing'];

/** The tracefs root, or undefined when it is not mounted. */
export function findTracefs(): string | undefined {
  return CANDIDATES.find((dir) => existsSync(`${dir}/events`));
}

export function requireTracefs(op: string): string {
  const dir = findTracefs();
  if (!dir) {
    throw new BpfNotSupportedError({
      feature: 'tracefs',
      code: 'ENOENT',
      errno: 2,
      op,
      hint: 'tracefs is not mounted: mount it with `mount -t tracefs nodev /sys/kernel/tracing` (or use tp_btf / raw tracepoints, which do not need it)',
    });
  }
  return dir;
}
