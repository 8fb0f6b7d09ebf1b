// nettop's exit codes and how a failure maps to one (documented in the README).
import { readCapabilities, type Capabilities } from '@tracer-bpf/loader';

export const EXIT = {
  /** Done (--once printed, a signal stopped it, doctor found nothing blocking). */
  OK: 0,
  /** A runtime failure after the arguments were accepted. */
  RUNTIME: 1,
  /** Bad command line. */
  USAGE: 2,
  /** Tracing cannot run here: missing privilege, no BTF, no backend, lockdown, ... */
  CANNOT_TRACE: 3,
} as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** A bad command line (exit 2). */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** Tracing cannot run on this host as this user (exit 3). */
export class CannotTraceError extends Error {
  override name = 'CannotTraceError';
}

/** What privilege is missing, in words, or undefined when this process may trace. */
export function missingPrivilege(caps: Capabilities = readCapabilities()): string | undefined {
  if (caps.tracing) return undefined;
  const missing = [!caps.bpf && 'CAP_BPF', !caps.perfmon && 'CAP_PERFMON'].filter(Boolean).join('+');
  return `tracing needs root or CAP_BPF+CAP_PERFMON (uid ${caps.uid}${missing ? ` lacks ${missing}` : ''})`;
}

/** TracerError codes that mean "this host cannot be traced", not "something broke". */
const CANNOT_TRACE_CODES = new Set(['ERR_NO_BTF', 'ERR_NO_BACKEND', 'ERR_NO_TRANSPORT']);
/** errno names that say the kernel refused us (privilege or lockdown). */
const REFUSED = new Set(['EPERM', 'EACCES']);

/** The exit code and the one-line message for a failure. */
export function classifyError(e: unknown): { code: ExitCode; message: string } {
  const err = e instanceof Error ? e : new Error(String(e));
  const first = err.message.split('\n')[0] ?? err.message;
  if (err instanceof UsageError) return { code: EXIT.USAGE, message: first };
  if (err instanceof CannotTraceError) return { code: EXIT.CANNOT_TRACE, message: first };
  const code = (err as { code?: unknown }).code;
  if (err.name === 'TracerError' && code === 'ERR_TRACER_OPTION') return { code: EXIT.USAGE, message: first };
  if (typeof code === 'string' && CANNOT_TRACE_CODES.has(code)) return { code: EXIT.CANNOT_TRACE, message: first };
  if (err.name === 'BpfPermissionError' || (typeof code === 'string' && REFUSED.has(code))) {
    const missing = missingPrivilege();
    return { code: EXIT.CANNOT_TRACE, message: missing ? `${missing}: ${first}` : `the kernel refused BPF although this process has the privilege (lockdown?): ${first}` };
  }
  return { code: EXIT.RUNTIME, message: first };
}
