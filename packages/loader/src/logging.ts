import { native } from './binding.js';

export type LibbpfLogLevel = 'none' | 'warn' | 'info' | 'debug';
const LEVELS: Record<LibbpfLogLevel, number> = { none: -1, warn: 0, info: 1, debug: 2 };

/**
 * Send libbpf's own messages to stderr at this level. Default 'none': libbpf
 * never prints; what it says about a failure is in the error's `log`.
 */
export function setLibbpfLogLevel(level: LibbpfLogLevel): void {
  native.set_log_level(LEVELS[level]);
}

export const libbpfVersion: string = native.libbpf_version;
