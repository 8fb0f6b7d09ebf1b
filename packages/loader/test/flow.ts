// The test objects' flow key and value (bpf/test/loader_test.h), laid out as
// loaderTest's BTF says: one decoder, in @tracer-bpf/bpf/test.
import { loadElfBtf } from '@tracer-bpf/btf';
import { flowLayout, testObjectFile } from '@tracer-bpf/bpf/test';

export { BYTE_BACKENDS, FLOW_KIND, stateRecordGlobals, type ByteBackend, type FlowKey, type FlowValue } from '@tracer-bpf/bpf/test';
export const AF_INET = 2;
export const AF_INET6 = 10;

export const flow = flowLayout(loadElfBtf(testObjectFile('loaderTest')));

export function addrBytes(ip: string): Buffer {
  const out = Buffer.alloc(16);
  if (ip.includes(':')) {
    // only the forms the tests use: "::1"
    if (ip !== '::1') throw new Error(`test helper handles ::1 only, got ${ip}`);
    out[15] = 1;
  } else {
    ip.split('.').forEach((o, i) => (out[i] = Number(o)));
  }
  return out;
}
