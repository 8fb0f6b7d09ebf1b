// The one description of where the running kernel keeps what the tracer
// reads. Produced from kernel BTF (offsetsFromBtf) or, on kernels without
// BTF, by offset guessing; consumed by the tracer, which hands every value
// to its eBPF programs as a global before load.

/** A field that may be a bitfield: its bit offset in the struct and its width in bits. */
export interface BitField {
  bitOffset: number;
  bits: number;
}

/** Byte offsets (and bitfield positions) of every kernel field the tracer reads. */
export interface SockOffsets {
  /** struct sock_common, through struct sock */
  skcFamily: number;
  skcState: number;
  skcRcvSaddr: number;
  skcDaddr: number;
  skcDport: number;
  /** Absent from guessed offsets on a kernel without IPv6 (ipv6.disable=1: no AF_INET6 socket exists there). */
  skcV6RcvSaddr?: number;
  skcV6Daddr?: number;
  /** the bound local port, host order (zeroed at the final TCP close: the tracer uses it for UDP) */
  skcNum: number;
  /** struct proto *skc_prot */
  skcProt: number;
  /** possible_net_t skc_net: a struct net pointer */
  skcNet: number;
  /** struct net: ns.inum, the namespace's inode number */
  netNsInum: number;
  /** struct inet_sock: the bound source port (network order); survives inet_put_port() */
  inetSport: number;
  /**
   * struct sock: sk_protocol and sk_shutdown (bitfields on some kernels).
   * skProtocol is absent from a guess where no UDP socket could be captured
   * (before 6.3, without kprobes): the tracer then tells protocols apart by
   * skc_prot and the addresses of tcp_prot & co. in /proc/kallsyms.
   */
  skProtocol?: BitField;
  skShutdown: BitField;
  /** struct tcp_sock */
  tcpWriteSeq: number;
  tcpSndUna: number;
  tcpBytesAcked: number;
  tcpCopiedSeq: number;
  tcpRcvNxt: number;
  tcpBytesReceived: number;
  tcpSrttUs: number;
  tcpMdevUs: number;
  tcpTotalRetrans: number;
  tcpSegsIn: number;
  tcpSegsOut: number;
  /**
   * Read only by the function hooks (fentry and kprobe backends): absent
   * from guessed offsets on a kernel without kprobes (see `unavailable`).
   * struct sk_buff: head (a pointer), network_header and transport_header
   * (u16 offsets from head): a received datagram's source.
   */
  skbHead?: number;
  skbNetworkHeader?: number;
  skbTransportHeader?: number;
  /** struct socket: sk (bind's argument is the socket) */
  socketSk?: number;
  /** struct msghdr: msg_name (the kernel's copy of a send's sockaddr) */
  msghdrName?: number;
  /**
   * Fields this object lacks, each with the reason: guessed on a kernel
   * without kprobes (the function hooks' fields), or without IPv6 (booted
   * with ipv6.disable=1: no AF_INET6 socket can exist, so skcV6* are never read). Absent from offsets read from BTF.
   */
  unavailable?: Partial<Record<OffsetField, string>>;
}

/** Every field of SockOffsets, in the order explanations list them. */
export const OFFSET_FIELDS = [
  'skcFamily', 'skcState', 'skcRcvSaddr', 'skcDaddr', 'skcDport', 'skcNum', 'skcV6RcvSaddr', 'skcV6Daddr', 'skcProt', 'skcNet',
  'netNsInum', 'inetSport', 'skProtocol', 'skShutdown',
  'tcpWriteSeq', 'tcpSndUna', 'tcpBytesAcked', 'tcpCopiedSeq', 'tcpRcvNxt', 'tcpBytesReceived', 'tcpSrttUs', 'tcpMdevUs', 'tcpTotalRetrans', 'tcpSegsIn', 'tcpSegsOut',
  'skbHead', 'skbNetworkHeader', 'skbTransportHeader', 'socketSk', 'msghdrName',
] as const;
export type OffsetField = (typeof OFFSET_FIELDS)[number];

/** The fields only the function hooks (fentry, kprobe backends) read: guessing them needs kprobes. */
export const HOOK_FIELDS = ['skbHead', 'skbNetworkHeader', 'skbTransportHeader', 'socketSk', 'msghdrName'] as const satisfies readonly OffsetField[];

/** The IPv6 address fields: unavailable on a kernel booted with ipv6.disable=1. */
export const IPV6_FIELDS = ['skcV6RcvSaddr', 'skcV6Daddr'] as const satisfies readonly OffsetField[];

/** Where a SockOffsets came from. */
export type OffsetSource = 'btf' | 'guess';
