// Turns what the addon reports into the right error class. The addon calls
// this for every failure (set once with set_error_factory), so errors are
// typed at the point they are thrown.
import type { NativeErrorInfo } from './binding.js';
import { describeMissing, readCapabilities } from './capabilities.js';
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

const FORMAT_CODES = new Set([
  'LIBBPF_ERRNO__LIBELF',
  'LIBBPF_ERRNO__FORMAT',
  'LIBBPF_ERRNO__ENDIAN',
  'LIBBPF_ERRNO__RELOC',
  'ENOEXEC',
  'EINVAL',
  'EBADMSG',
]);

/** Facts libbpf 1.1 (linked statically, so its messages are fixed) logs about a failed load. */
export function parseLoadLog(log: string): { program?: string; map?: string; syscall?: string } {
  const out: { program?: string; map?: string; syscall?: string } = {};
  const prog = /prog '([^']+)': (?:BPF program load failed|failed to load)/.exec(log);
  if (prog?.[1]) {
    out.program = prog[1];
    out.syscall = 'BPF_PROG_LOAD';
  }
  const map = /map '([^']+)': failed to create/.exec(log);
  if (map?.[1]) {
    out.map = map[1];
    out.syscall = 'BPF_MAP_CREATE';
  }
  if (!out.syscall && /Couldn't load trivial BPF program/.test(log)) out.syscall = 'BPF_PROG_LOAD';
  return out;
}

export function errorFromNative(info: NativeErrorInfo): Error {
  const f: BpfErrorFields = { ...stripUndefined(info) };
  switch (info.code) {
    case 'ERR_BPF_CLOSED':
      return new BpfClosedError(f);
    case 'ERR_BPF_ARG':
    case 'ERR_BPF_HANDLE':
      return new BpfArgumentError(f);
    case 'ERR_BPF_LOADED':
    case 'ERR_BPF_NOT_LOADED':
    case 'ERR_BPF_BUSY':
      return new BpfStateError(f);
  }
  if (info.op === 'open object') {
    if (info.code === 'ENOENT') return new BpfError({ ...f, hint: `no such file: ${info.object ?? ''}` });
    if (FORMAT_CODES.has(info.code)) {
      return new BpfObjectFormatError({
        ...f,
        hint: 'not a valid eBPF ELF object (random bytes, truncated or built for another target?): rebuild it with clang -target bpf',
      });
    }
  }
  if (info.op === 'set attach target' && info.code === 'ESRCH') {
    return new BpfError({ ...f, hint: `the kernel BTF has no function or tracepoint named ${info.target ?? ''}` });
  }
  if (info.op === 'load object' && info.log) {
    const facts = parseLoadLog(info.log);
    Object.assign(f, {
      ...(facts.program && { program: facts.program }),
      ...(facts.map && { map: facts.map }),
      ...(facts.syscall && { syscall: facts.syscall }),
    });
    if (info.log.includes('-- BEGIN PROG LOAD LOG --') && info.code !== 'EPERM') {
      return new BpfVerifierError({ ...f, hint: 'the verifier rejected the program: see verifierLog' });
    }
  }
  if (info.code === 'EPERM' || info.code === 'EACCES') {
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

function stripUndefined(info: NativeErrorInfo): BpfErrorFields {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(info)) if (v !== undefined) out[k] = v;
  return out as unknown as BpfErrorFields;
}
