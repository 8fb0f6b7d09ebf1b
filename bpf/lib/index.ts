import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Absolute path of a compiled object in this package's obj/ folder. */
function objectPath(name: string): string {
  return fileURLToPath(new URL(`../obj/${name}.bpf.o`, import.meta.url));
}

/** Paths of the compiled ELF objects this package ships. */
export const objects = {
  /** Loader test object: tracepoint + tp_btf programs counting TCP traffic on one port. */
  loaderTest: objectPath('loader_test'),
  /** Loader test object: ring buffer and perf buffer producers run with BPF_PROG_TEST_RUN. */
  buffersTest: objectPath('buffers_test'),
  /** Loader test object: kprobe, kretprobe, fentry and fexit programs on tcp_sendmsg. */
  probesTest: objectPath('probes_test'),
  /** Loader test object: programs the verifier rejects (reject_null_deref, reject_ctx_oob) and one it accepts. */
  rejectedTest: objectPath('rejected_test'),
  /** Never loaded: its BTF holds every struct and enum of include/tracer_bpf/abi.h (decode's layout table is generated from it). */
  tracerAbi: objectPath('tracer_abi'),
} as const;

export type ObjectName = keyof typeof objects;

/** Path of a compiled object; throws a clear error when the package was not built. */
export function objectFile(name: ObjectName): string {
  const path = objects[name];
  if (!existsSync(path)) {
    throw new Error(`@tracer-bpf/bpf: ${path} is missing: build the package first (pnpm --filter @tracer-bpf/bpf build)`);
  }
  return path;
}
