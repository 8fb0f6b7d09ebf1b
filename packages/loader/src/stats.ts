// Kernel-wide BPF run statistics, switched on for a scope: BPF_ENABLE_STATS
// returns an fd, and the kernel counts run time and run count
// (kernel.bpf_stats_enabled reads 1) until every such fd is closed. So the
// scope restores the previous state by itself, never overriding another user
// who switched it on with the sysctl or their own fd.
import { closeSync } from 'node:fs';
import { native } from './binding.js';

/** An open BPF_ENABLE_STATS scope: close() (or `using`) ends it. */
export interface BpfStatsScope extends Disposable {
  readonly closed: boolean;
  close(): void;
}

/**
 * Make the kernel count run time and run count of every BPF program
 * (ProgramStats) until the returned scope is closed. Needs CAP_SYS_ADMIN
 * (kernel 5.8+). Stats cost a few nanoseconds per program run.
 */
export function enableBpfStats(): BpfStatsScope {
  const fd = native.enable_stats();
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    closeSync(fd);
  };
  return {
    get closed() {
      return closed;
    },
    close,
    [Symbol.dispose]: close,
  };
}
