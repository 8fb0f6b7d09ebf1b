// Where tracefs is mounted (classic tracepoints and legacy kprobes need it).
import { accessSync, constants, readFileSync } from 'node:fs';
import { BpfNotSupportedError, BpfPermissionError } from './errors.js';

const CANDIDATES = ['/sys/kernel/tracing', '/sys/kernel/debug/tracing'];

/** The tracefs root, or undefined when it is not mounted (or not readable by this process). */
export function findTracefs(): string | undefined {
  return CANDIDATES.find((dir) => {
    try {
      accessSync(`${dir}/events`, constants.R_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** A tracefs mount point this process cannot read (tracefs is root-only), or undefined. */
export function unreadableTracefs(): string | undefined {
  if (findTracefs()) return undefined;
  let mounts = '';
  try {
    mounts = readFileSync('/proc/self/mounts', 'utf8');
  } catch {
    return undefined;
  }
  for (const line of mounts.split('\n')) {
    const [, dir, type] = line.split(' ');
    if (type === 'tracefs' && dir && CANDIDATES.includes(dir)) return dir;
  }
  return undefined;
}

export function requireTracefs(op: string): string {
  const dir = findTracefs();
  const denied = dir ? undefined : unreadableTracefs();
  if (denied) {
    throw new BpfPermissionError({
      code: 'EACCES',
      errno: 13,
      op,
      target: denied,
      hint: `tracefs is mounted at ${denied} but this process may not read it: run as root`,
    });
  }
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
