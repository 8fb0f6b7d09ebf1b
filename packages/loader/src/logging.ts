import { native } from './binding.js';
import { oneOf } from './validate.js';

export type LibbpfLogLevel = 'none' | 'warn' | 'info' | 'debug';
const LEVELS: Record<LibbpfLogLevel, number> = { none: -1, warn: 0, info: 1, debug: 2 };

/**
 * Send libbpf's own messages to stderr at this level. Default 'none': libbpf
 * never prints; what it says about a failure is in the error's `log`.
 */
export function setLibbpfLogLevel(level: LibbpfLogLevel): void {
  native.set_log_level(LEVELS[oneOf({ op: 'set libbpf log level' }, 'level', level, Object.keys(LEVELS) as LibbpfLogLevel[])]);
}

/** The version of the libbpf linked into the addon ("1.1"). Loads the addon. */
export function libbpfVersion(): string {
  return native.libbpf_version;
}
