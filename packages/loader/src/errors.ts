// Typed errors. Every error carries a stable `code` (an errno name such as
// EPERM, or an ERR_BPF_* code for misuse: the closed union BpfErrorCode), the
// operation that failed and the object / program / map it concerned; syscall
// failures also carry `errno`, the system call and libbpf's (or the
// verifier's) log.
import type { BpfErrorCode } from './errno.js';

export type { BpfErrorCode, ErrnoCode, UsageCode } from './errno.js';

export interface BpfErrorFields {
  code: BpfErrorCode;
  op: string;
  message?: string;
  errno?: number;
  /** The bpf(2) command or system call that failed (BPF_PROG_LOAD, BPF_MAP_CREATE, perf_event_open, ...). */
  syscall?: string;
  object?: string;
  program?: string;
  map?: string;
  target?: string;
  log?: string;
  hint?: string;
  cause?: unknown;
}

function compose(f: BpfErrorFields): string {
  const what = [f.op, f.target].filter(Boolean).join(' ');
  const ctx = [
    f.program ? `program ${f.program}` : '',
    f.map ? `map ${f.map}` : '',
    f.object ? `object ${f.object}` : '',
  ]
    .filter(Boolean)
    .join(', ');
  let msg = f.errno !== undefined || /^E[A-Z0-9]+$/.test(f.code) ? `${what}: ${f.code}` : what;
  if (f.message && f.errno === undefined) msg = what ? `${what}: ${f.message}` : f.message;
  else if (f.message) msg += ` (${f.message})`;
  if (f.syscall && !what.includes(f.syscall)) msg += ` in ${f.syscall}`;
  if (ctx) msg += ` [${ctx}]`;
  if (f.hint) msg += `: ${f.hint}`;
  return msg;
}

export class BpfError extends Error {
  override name = 'BpfError';
  readonly code: BpfErrorCode;
  readonly op: string;
  readonly errno: number | undefined;
  readonly syscall: string | undefined;
  readonly object: string | undefined;
  readonly program: string | undefined;
  readonly map: string | undefined;
  readonly target: string | undefined;
  /** What libbpf (or the verifier) printed during the failing operation. */
  readonly log: string | undefined;
  readonly hint: string | undefined;

  constructor(fields: BpfErrorFields) {
    super(compose(fields), fields.cause === undefined ? undefined : { cause: fields.cause });
    this.code = fields.code;
    this.op = fields.op;
    this.errno = fields.errno;
    this.syscall = fields.syscall;
    this.object = fields.object;
    this.program = fields.program;
    this.map = fields.map;
    this.target = fields.target;
    this.log = fields.log;
    this.hint = fields.hint;
  }
}

/** The process lacks a privilege the operation needs (EPERM / EACCES outside the verifier). */
export class BpfPermissionError extends BpfError {
  override name = 'BpfPermissionError';
}

/** The kernel (or platform) lacks or refuses a feature; `feature` names it, `programs` every program it concerns. */
export class BpfNotSupportedError extends BpfError {
  override name = 'BpfNotSupportedError';
  readonly feature: string;
  readonly programs: readonly string[];
  constructor(fields: BpfErrorFields & { feature: string; programs?: readonly string[] }) {
    super(fields);
    this.feature = fields.feature;
    this.programs = fields.programs ?? (fields.program ? [fields.program] : []);
  }
}

/** The verifier rejected a program; `verifierLog` holds its log. */
export class BpfVerifierError extends BpfError {
  override name = 'BpfVerifierError';
  get verifierLog(): string {
    const log = this.log ?? '';
    const m = /-- BEGIN PROG LOAD LOG --\n([\s\S]*?)-- END PROG LOAD LOG --/.exec(log);
    return m?.[1] ?? log;
  }
}

/** The file is not a usable BPF ELF object (random bytes, truncated, wrong machine). */
export class BpfObjectFormatError extends BpfError {
  override name = 'BpfObjectFormatError';
}

/** A handle was used after close() (or closed while loading). */
export class BpfClosedError extends BpfError {
  override name = 'BpfClosedError';
}

/** A bad argument: wrong type or range, wrong key/value size, unknown name. `argument` names it when it is one. */
export class BpfArgumentError extends BpfError {
  override name = 'BpfArgumentError';
  readonly argument: string | undefined;
  constructor(fields: BpfErrorFields & { argument?: string }) {
    super(fields);
    this.argument = fields.argument;
  }
}

/** An operation in the wrong lifecycle state (e.g. set a global after load). */
export class BpfStateError extends BpfError {
  override name = 'BpfStateError';
}
