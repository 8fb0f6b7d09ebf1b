// SockOffsets from the kernel's own BTF (/sys/kernel/btf/vmlinux).
import type { Btf } from '@tracer-bpf/btf';
import { readKernelBtf } from './kernel-btf.js';
import type { BitField, SockOffsets } from './sock-offsets.js';

/** A field the kernel's BTF lacks (or has with an unexpected size). */
export class OffsetsError extends Error {
  override name = 'OffsetsError';
}

/** The struct ids the offsets come from, found in one pass over the BTF (no full name index: start-up time). */
const STRUCTS = ['sock', 'inet_sock', 'tcp_sock', 'net', 'sk_buff', 'socket', 'msghdr'] as const;
type Ids = Map<string, { id: number }>;

function bytes(btf: Btf, ids: Ids, struct: string, path: string[], sizes: number[]): number {
  let m;
  try {
    m = btf.memberOffset(ids.get(struct)!.id, path);
  } catch (e) {
    throw new OffsetsError(`kernel BTF: struct ${struct} has no member ${path.join('.')} (${(e as Error).message})`, { cause: e });
  }
  if (m.bitSize !== 0 || m.bitOffset % 8 !== 0) {
    throw new OffsetsError(`kernel BTF: ${struct}.${path.join('.')} is a bitfield; the tracer reads it as a whole ${m.size}-byte field`);
  }
  if (!sizes.includes(m.size)) {
    throw new OffsetsError(`kernel BTF: ${struct}.${path.join('.')} is ${m.size} bytes, expected ${sizes.join(' or ')}`);
  }
  return m.offset;
}

function bits(btf: Btf, ids: Ids, struct: string, path: string[]): BitField {
  let m;
  try {
    m = btf.memberOffset(ids.get(struct)!.id, path);
  } catch (e) {
    throw new OffsetsError(`kernel BTF: struct ${struct} has no member ${path.join('.')} (${(e as Error).message})`, { cause: e });
  }
  const width = m.bitSize !== 0 ? m.bitSize : m.size * 8;
  if (width > 24) throw new OffsetsError(`kernel BTF: ${struct}.${path.join('.')} is ${width} bits wide, at most 24 are read`);
  return { bitOffset: m.bitOffset, bits: width };
}

/** Every offset the tracer needs, from kernel BTF (the running kernel's by default). */
export function offsetsFromBtf(btf: Btf = readKernelBtf()): SockOffsets {
  let ids: Ids;
  try {
    ids = btf.structs(STRUCTS);
  } catch (e) {
    throw new OffsetsError(`kernel BTF: ${(e as Error).message}`, { cause: e });
  }
  const skc = (name: string, sizes: number[]): number => bytes(btf, ids, 'sock', ['__sk_common', name], sizes);
  const tcp = (name: string, sizes: number[]): number => bytes(btf, ids, 'tcp_sock', [name], sizes);
  return {
    skcFamily: skc('skc_family', [2]),
    skcState: skc('skc_state', [1]),
    skcRcvSaddr: skc('skc_rcv_saddr', [4]),
    skcDaddr: skc('skc_daddr', [4]),
    skcDport: skc('skc_dport', [2]),
    skcV6RcvSaddr: skc('skc_v6_rcv_saddr', [16]),
    skcV6Daddr: skc('skc_v6_daddr', [16]),
    skcNum: skc('skc_num', [2]),
    skcProt: skc('skc_prot', [8]),
    skcNet: skc('skc_net', [8]),
    netNsInum: bytes(btf, ids, 'net', ['ns', 'inum'], [4]),
    inetSport: bytes(btf, ids, 'inet_sock', ['inet_sport'], [2]),
    skProtocol: bits(btf, ids, 'sock', ['sk_protocol']),
    skShutdown: bits(btf, ids, 'sock', ['sk_shutdown']),
    tcpWriteSeq: tcp('write_seq', [4]),
    tcpSndUna: tcp('snd_una', [4]),
    tcpBytesAcked: tcp('bytes_acked', [8]),
    tcpCopiedSeq: tcp('copied_seq', [4]),
    tcpRcvNxt: tcp('rcv_nxt', [4]),
    tcpBytesReceived: tcp('bytes_received', [8]),
    tcpSrttUs: tcp('srtt_us', [4]),
    tcpMdevUs: tcp('mdev_us', [4]),
    tcpTotalRetrans: tcp('total_retrans', [4]),
    tcpSegsIn: tcp('segs_in', [4]),
    tcpSegsOut: tcp('segs_out', [4]),
    skbHead: bytes(btf, ids, 'sk_buff', ['head'], [8]),
    skbNetworkHeader: bytes(btf, ids, 'sk_buff', ['network_header'], [2]),
    skbTransportHeader: bytes(btf, ids, 'sk_buff', ['transport_header'], [2]),
    socketSk: bytes(btf, ids, 'socket', ['sk'], [8]),
    msghdrName: bytes(btf, ids, 'msghdr', ['msg_name'], [8]),
  };
}
