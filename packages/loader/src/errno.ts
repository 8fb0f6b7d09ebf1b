// Names of error numbers: the kernel's (from Node's own table), the one
// kernel-internal code that leaks out of bpf(2), and libbpf's own (4000+).
import { constants } from 'node:os';

/** libbpf's own error numbers (libbpf.h: enum libbpf_errno). */
const LIBBPF_ERRNO = {
  LIBBPF_ERRNO__LIBELF: 4000,
  LIBBPF_ERRNO__FORMAT: 4001,
  LIBBPF_ERRNO__KVERSION: 4002,
  LIBBPF_ERRNO__ENDIAN: 4003,
  LIBBPF_ERRNO__INTERNAL: 4004,
  LIBBPF_ERRNO__RELOC: 4005,
  LIBBPF_ERRNO__LOAD: 4006,
  LIBBPF_ERRNO__VERIFY: 4007,
  LIBBPF_ERRNO__PROG2BIG: 4008,
  LIBBPF_ERRNO__KVER: 4009,
  LIBBPF_ERRNO__PROGTYPE: 4010,
  LIBBPF_ERRNO__WRNGPID: 4011,
  LIBBPF_ERRNO__INVSEQ: 4012,
  LIBBPF_ERRNO__NLPARSE: 4013,
} as const;

/** An errno name: the kernel's (EPERM, ENOENT, ...), ENOTSUPP (524), or libbpf's. */
export type ErrnoCode = keyof typeof constants.errno | 'ENOTSUPP' | keyof typeof LIBBPF_ERRNO;

/** Codes of usage errors (no errno). */
export type UsageCode =
  | 'ERR_BPF_ARG' // a bad argument (BpfArgumentError)
  | 'ERR_BPF_HANDLE' // not a handle of this library (BpfArgumentError)
  | 'ERR_BPF_CLOSED' // used after close() (BpfClosedError)
  | 'ERR_BPF_LOADED' // a pre-load setting after load() (BpfStateError)
  | 'ERR_BPF_NOT_LOADED' // needs load() first (BpfStateError)
  | 'ERR_BPF_BUSY' // the object is being loaded (BpfStateError)
  | 'ERR_BPF_AMBIGUOUS' // a kprobe target matches several clones (BpfArgumentError)
  | 'ERR_BPF_TRACEPOINT_FORMAT' // text that is not a tracefs format file (BpfArgumentError)
  | 'ERR_BPF_PLATFORM' // not Linux (BpfNotSupportedError)
  | 'ERR_BPF_NO_PREBUILD' // no usable prebuilt addon (BpfNotSupportedError)
  | 'ERR_BPF_ERRNO'; // an error number this table does not name (see `errno`)

/** Every `code` a BpfError can carry: a closed set. */
export type BpfErrorCode = ErrnoCode | UsageCode;

const byNumber = new Map<number, ErrnoCode>();
for (const [name, n] of Object.entries(LIBBPF_ERRNO)) byNumber.set(n, name as ErrnoCode);
byNumber.set(524, 'ENOTSUPP');
// Node's table has aliases (ENOTSUP = EOPNOTSUPP, EWOULDBLOCK = EAGAIN): the kernel's usual name wins.
byNumber.set(constants.errno.EOPNOTSUPP, 'EOPNOTSUPP');
for (const [name, n] of Object.entries(constants.errno)) if (!byNumber.has(n)) byNumber.set(n, name as ErrnoCode);

/** The name of a (positive) error number. */
export function errnoName(errno: number): BpfErrorCode {
  return byNumber.get(Math.abs(errno)) ?? 'ERR_BPF_ERRNO';
}
