// The loader's test objects (bpf/test/*.bpf.c). Workspace-only: the published
// package leaves this entry and obj/test/ out (publishConfig.exports, files).
import { existingObject, objectPath } from './paths.js';

export const testObjects = {
  /** tp_btf + classic tracepoint programs counting TCP traffic on one port; a `bench` hash map. */
  loaderTest: objectPath('test/loader_test'),
  /** Ring buffer and perf buffer producers run with BPF_PROG_TEST_RUN. */
  buffersTest: objectPath('test/buffers_test'),
  /** kprobe, kretprobe, fentry and fexit programs on tcp_sendmsg. */
  probesTest: objectPath('test/probes_test'),
  /** Programs the verifier rejects (reject_null_deref, reject_ctx_oob) and one it accepts. */
  rejectedTest: objectPath('test/rejected_test'),
  /** Maps sized at run time (a stack trace map, a hash map), a cheap classic tracepoint program and one on a tracepoint no kernel has. */
  sizedTest: objectPath('test/sized_test'),
  /** XDP (`sec xdp`, for `ip link set dev lo xdpgeneric obj ...`): drops the first 2 TCP payload segments of each flow to ports 29800..29899, v4 and v6. */
  dropTest: objectPath('test/drop_test'),
} as const;

export type TestObjectName = keyof typeof testObjects;

/** Path of a test object; throws a clear error when the package was not built. */
export function testObjectFile(name: TestObjectName): string {
  return existingObject(testObjects[name]);
}
