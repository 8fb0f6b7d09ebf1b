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
  /** tp_btf/sock_send_length programs that each do one operation (a helper, a map access), for tools/bench/bpf-op-cost.mjs. */
  opCost: objectPath('test/op_cost'),
} as const;

export type TestObjectName = keyof typeof testObjects;

/** Path of a test object; throws a clear error when the package was not built. */
export function testObjectFile(name: TestObjectName): string {
  return existingObject(testObjects[name]);
}

// ---- The flows map of loaderTest: struct lt_flow_key / lt_flow_value (test/loader_test.h) ----
//
// The header is the one definition: offsets and sizes come from the object's
// BTF, read by the caller with @tracer-bpf/btf (`loadElfBtf(testObjectFile('loaderTest'))`
// fits the interface below; this package cannot depend on btf, whose tests use it).

/** What flowLayout() needs of a BTF reader: @tracer-bpf/btf's `Btf`. */
export interface StructSource {
  struct(name: string): {
    readonly size: number;
    readonly members: readonly { readonly name: string; readonly type: number; readonly bitOffset: number; readonly bitSize: number }[];
  };
  sizeOf(id: number): number;
}

/** The `kind` member of a flow key: which program wrote the entry. */
export const FLOW_KIND = {
  /** Bytes and calls, by any byte backend. */
  bytes: 0,
  /** State transitions, by the classic sock/inet_sock_set_state tracepoint (count_state). */
  stateTracepoint: 1,
  /** State transitions, by tp_btf inet_sock_set_state (count_state_btf). */
  stateTpBtf: 2,
} as const;

export interface FlowKey {
  /** 16 bytes in network order; IPv4 in the first 4. */
  saddr: Buffer;
  daddr: Buffer;
  /** Host order. */
  sport: number;
  dport: number;
  family: number;
  protocol: number;
  /** One of FLOW_KIND. */
  kind: number;
}

export interface FlowValue {
  sentBytes: bigint;
  recvBytes: bigint;
  sentCalls: bigint;
  recvCalls: bigint;
  /** Transitions into TCP_ESTABLISHED. */
  established: bigint;
  /** Transitions into TCP_CLOSE. */
  closed: bigint;
}

export interface FlowLayout {
  readonly keySize: number;
  readonly valueSize: number;
  encodeKey(key: FlowKey): Buffer;
  /** Addresses are views into `bytes`. */
  decodeKey(bytes: Uint8Array): FlowKey;
  /** Missing counters are 0. */
  encodeValue(value: Partial<FlowValue>): Buffer;
  decodeValue(bytes: Uint8Array): FlowValue;
}

type Width = 2 | 4 | 8 | 16;
interface Field<T> {
  /** Member name in the C header. */
  c: string;
  ts: keyof T;
  width: Width;
}

const KEY_FIELDS: readonly Field<FlowKey>[] = [
  { c: 'saddr', ts: 'saddr', width: 16 },
  { c: 'daddr', ts: 'daddr', width: 16 },
  { c: 'sport', ts: 'sport', width: 2 },
  { c: 'dport', ts: 'dport', width: 2 },
  { c: 'family', ts: 'family', width: 2 },
  { c: 'protocol', ts: 'protocol', width: 2 },
  { c: 'kind', ts: 'kind', width: 4 },
];

const VALUE_FIELDS: readonly Field<FlowValue>[] = [
  { c: 'sent_bytes', ts: 'sentBytes', width: 8 },
  { c: 'recv_bytes', ts: 'recvBytes', width: 8 },
  { c: 'sent_calls', ts: 'sentCalls', width: 8 },
  { c: 'recv_calls', ts: 'recvCalls', width: 8 },
  { c: 'established', ts: 'established', width: 8 },
  { c: 'closed', ts: 'closed', width: 8 },
];

/** Byte offset of every field, checked against the member's size in BTF. */
function offsets<T>(btf: StructSource, structName: string, fields: readonly Field<T>[]): { size: number; at: Map<keyof T, number> } {
  const s = btf.struct(structName);
  const at = new Map<keyof T, number>();
  for (const f of fields) {
    const m = s.members.find((x) => x.name === f.c);
    if (!m) throw new Error(`${structName} has no member ${f.c} in this object's BTF`);
    if (m.bitSize !== 0 || m.bitOffset % 8 !== 0) throw new Error(`${structName}.${f.c} is a bitfield in this object's BTF`);
    const size = btf.sizeOf(m.type);
    if (size !== f.width) throw new Error(`${structName}.${f.c} is ${size} bytes in this object's BTF; the helpers read ${f.width}`);
    at.set(f.ts, m.bitOffset / 8);
  }
  return { size: s.size, at };
}

function view(bytes: Uint8Array, size: number, what: string): Buffer {
  if (bytes.length !== size) throw new RangeError(`${what}: ${bytes.length} bytes, expected ${size}`);
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * Encoder and decoder of the `flows` (and `bench`) map entries of loaderTest,
 * laid out as the object's BTF says: `flowLayout(loadElfBtf(testObjectFile('loaderTest')))`.
 */
export function flowLayout(btf: StructSource): FlowLayout {
  const key = offsets(btf, 'lt_flow_key', KEY_FIELDS);
  const value = offsets(btf, 'lt_flow_value', VALUE_FIELDS);
  const k = (f: keyof FlowKey): number => key.at.get(f) as number;
  const v = (f: keyof FlowValue): number => value.at.get(f) as number;
  return {
    keySize: key.size,
    valueSize: value.size,
    encodeKey(x) {
      const b = Buffer.alloc(key.size);
      for (const a of ['saddr', 'daddr'] as const) {
        if (x[a].length !== 16) throw new RangeError(`encodeKey: ${a} is ${x[a].length} bytes, expected 16`);
        x[a].copy(b, k(a));
      }
      for (const f of ['sport', 'dport', 'family', 'protocol'] as const) b.writeUInt16LE(x[f], k(f));
      b.writeUInt32LE(x.kind, k('kind'));
      return b;
    },
    decodeKey(bytes) {
      const b = view(bytes, key.size, 'decodeKey');
      return {
        saddr: b.subarray(k('saddr'), k('saddr') + 16),
        daddr: b.subarray(k('daddr'), k('daddr') + 16),
        sport: b.readUInt16LE(k('sport')),
        dport: b.readUInt16LE(k('dport')),
        family: b.readUInt16LE(k('family')),
        protocol: b.readUInt16LE(k('protocol')),
        kind: b.readUInt32LE(k('kind')),
      };
    },
    encodeValue(x) {
      const b = Buffer.alloc(value.size);
      for (const f of VALUE_FIELDS) b.writeBigUInt64LE(x[f.ts] ?? 0n, v(f.ts));
      return b;
    },
    decodeValue(bytes) {
      const b = view(bytes, value.size, 'decodeValue');
      const out = {} as FlowValue;
      for (const f of VALUE_FIELDS) out[f.ts] = b.readBigUInt64LE(v(f.ts));
      return out;
    },
  };
}

/**
 * The byte-counting programs of loaderTest by backend (all write FLOW_KIND.bytes
 * keys); they are not autoloaded: enable one backend's with setAutoload(true).
 * tp_btf needs sock_send_length/sock_recv_length (6.3+).
 */
export const BYTE_BACKENDS = {
  tp_btf: ['count_send', 'count_recv'],
  fentry: ['fexit_send', 'fentry_recv'],
  kprobe: ['kprobe_send', 'kretprobe_send', 'kprobe_recv'],
} as const satisfies Record<string, readonly string[]>;
export type ByteBackend = keyof typeof BYTE_BACKENDS;

/** Fields of the classic sock/inet_sock_set_state record that count_state reads, each through a `tp_off_<field>` global. */
export const STATE_RECORD_FIELDS = ['newstate', 'sport', 'dport', 'family', 'protocol', 'saddr', 'daddr', 'saddr_v6', 'daddr_v6'] as const;

/**
 * Globals of the classic `count_state` program: the field offsets of the
 * sock/inet_sock_set_state record on this kernel, from tracefs `format`
 * (the loader's readTracepointFormat('sock', 'inet_sock_set_state')).
 */
export function stateRecordGlobals(format: { field(name: string): { readonly offset: number } | undefined }): Record<string, number> {
  const out: Record<string, number> = {};
  for (const f of STATE_RECORD_FIELDS) {
    const field = format.field(f);
    if (!field) throw new Error(`sock/inet_sock_set_state has no field ${f} on this kernel`);
    out[`tp_off_${f}`] = field.offset;
  }
  return out;
}
