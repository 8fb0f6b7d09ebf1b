// Turns what the addon reports into the right error class. The addon calls
// this for every failure (set once with set_error_factory), so errors are
// typed at the point they are thrown. Classification uses the operation id,
// the errno and the failed system call the addon reports, never message text.
import type { NativeErrorInfo } from './binding.js';
import { describeMissing, readCapabilities } from './capabilities.js';
import { type BpfErrorCode, errnoName } from './errno.js';
import {
  BpfArgumentError,
  BpfClosedError,
  BpfError,
  type BpfErrorFields,
  BpfObjectFormatError,
  BpfPermissionError,
  BpfStateError,
  BpfVerifierError,
} from './errors.js';
import { describeOperation } from './operations.js';

/** errno codes with which opening an ELF means "not a BPF object". */
const FORMAT_CODES = new Set<BpfErrorCode>([
  'LIBBPF_ERRNO__LIBELF',
  'LIBBPF_ERRNO__FORMAT',
  'LIBBPF_ERRNO__ENDIAN',
  'LIBBPF_ERRNO__RELOC',
  'ENOEXEC',
  'EINVAL',
  'EBADMSG',
]);

const USAGE_CLASSES: Partial<Record<BpfErrorCode, new (f: BpfErrorFields) => BpfError>> = {
  ERR_BPF_CLOSED: BpfClosedError,
  ERR_BPF_ARG: BpfArgumentError,
  ERR_BPF_HANDLE: BpfArgumentError,
  ERR_BPF_LOADED: BpfStateError,
  ERR_BPF_NOT_LOADED: BpfStateError,
  ERR_BPF_BUSY: BpfStateError,
};

/** The fields of an addon report, with the errno named and the operation in words. */
export function fieldsFromNative(info: NativeErrorInfo): BpfErrorFields {
  const code: BpfErrorCode = info.code ?? (info.errno ? errnoName(info.errno) : 'ERR_BPF_ERRNO');
  const f: BpfErrorFields = { code, op: describeOperation(info.opId) };
  for (const k of ['errno', 'syscall', 'object', 'program', 'map', 'target', 'log', 'message'] as const) {
    const v = info[k];
    if (v !== undefined) (f as unknown as Record<string, unknown>)[k] = v;
  }
  return f;
}

export function errorFromNative(info: NativeErrorInfo): Error {
  const f = fieldsFromNative(info);
  const usage = USAGE_CLASSES[f.code];
  if (usage) return new usage(f);
  switch (info.opId) {
    case 'open_object':
      if (f.code === 'ENOENT') return new BpfError({ ...f, hint: `no such file: ${info.object ?? ''}` });
      if (FORMAT_CODES.has(f.code)) {
        return new BpfObjectFormatError({
          ...f,
          hint: 'not a valid eBPF ELF object (random bytes, truncated or built for another target?): rebuild it with clang -target bpf',
        });
      }
      break;
    case 'set_attach_target':
      if (f.code === 'ESRCH') return new BpfError({ ...f, hint: `the kernel BTF has no function or tracepoint named ${info.target ?? ''}` });
      break;
    case 'load_object':
      // The verifier refuses a program with EACCES (or EINVAL for a bad
      // program) from BPF_PROG_LOAD; EPERM is a privilege matter.
      if (f.syscall === 'BPF_PROG_LOAD' && (f.code === 'EACCES' || f.code === 'EINVAL') && readCapabilities().tracing) {
        return new BpfVerifierError({ ...f, hint: 'the verifier rejected the program: see verifierLog' });
      }
      break;
  }
  if (f.code === 'EPERM' || f.code === 'EACCES') {
    const caps = readCapabilities();
    if (!caps.tracing) {
      return new BpfPermissionError({
        ...f,
        hint: `this process (uid ${caps.uid}) lacks ${describeMissing(caps)}: run as root, or grant CAP_BPF and CAP_PERFMON`,
      });
    }
  }
  return new BpfError(f);
}
