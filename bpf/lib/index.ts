import { existingObject, objectPath } from './paths.js';

/** Paths of the compiled ELF objects this package ships (the tracer's own; test objects are in `@tracer-bpf/bpf/test`). */
export const objects = {
  /** Never loaded: its BTF holds every struct and enum of include/tracer_bpf/abi.h (decode's layout table is generated from it). */
  tracerAbi: objectPath('tracer_abi'),
  /** The connection tracer: every backend's programs (tp_btf, classic tracepoints, syscalls for UDP peers); see src/tracer.bpf.c. */
  tracer: objectPath('tracer'),
  /** The offset guesser's capture programs (classic tracepoints and kprobes; see src/offsetguess.bpf.c). */
  offsetguess: objectPath('offsetguess'),
} as const;

export type ObjectName = keyof typeof objects;

/** Path of a compiled object; throws a clear error when the package was not built. */
export function objectFile(name: ObjectName): string {
  return existingObject(objects[name]);
}
