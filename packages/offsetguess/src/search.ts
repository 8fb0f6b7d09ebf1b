// The search: for every field, each offset of its window is kept only if the
// value there is what the guesser knows of every socket it captured. Pure
// functions of the samples (no kernel): tested on recorded captures.
//
// Windows (bytes from the start of struct sock; documented in the README):
//   sock_common fields            [0, 64)     family, state, addresses, ports
//   sock_common pointers, IPv6    [0, 128)    skc_prot, skc_net, skc_v6_*
//   struct sock / inet_sock       [128, 1536) sk_protocol, sk_shutdown, inet_sport
//   tcp_sock fields               [256, 4096) sequence counters, byte and segment counters, RTT
//   struct net (through skc_net)  [0, 512)    ns.inum
//   struct socket                 [0, 128)    sk
//   struct msghdr                 [0, 128)    msg_name
//   struct sk_buff                [0, 256)    head, network_header, transport_header (the struct
//                                             itself: past it lie other objects, which can hold
//                                             the same header offsets from an earlier datagram)
import type { BitField, SockOffsets } from './sock-offsets.js';
import type { ArgSample, Samples, SockSample } from './samples.js';
import { abi } from '@tracer-bpf/decode';
import type { TcpNow } from './sockets.js';

const CHUNK = abi.enums.guess_const.GUESS_CHUNK;

export type Window = readonly [start: number, end: number];

export const WINDOWS = {
  head: [0, 64],
  headPointers: [0, 128],
  sock: [128, 1536],
  tcp: [256, 4096],
  net: [0, 512],
  socket: [0, 128],
  msghdr: [0, 128],
  skb: [0, 256],
} as const satisfies Record<string, Window>;

/** One field's outcome: the offsets that fit everything seen (exactly one is an answer). */
export interface Candidates<T = number> {
  field: keyof SockOffsets;
  window: Window;
  /** How the values were checked, for the explanation. */
  how: string;
  candidates: T[];
  /** Samples that took part. */
  samples: number;
}

// ------------------------------------------------------------------- helpers

function readable(s: SockSample, off: number, size: number): boolean {
  if (s.faults === 0) return off + size <= s.bytes.length;
  const first = Math.floor(off / CHUNK);
  const last = Math.floor((off + size - 1) / CHUNK);
  for (let c = first; c <= last; c++) if (s.faults & (1 << c)) return false;
  return off + size <= s.bytes.length;
}

function ipv4(text: string): Buffer {
  const parts = text.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !(p >= 0 && p <= 255))) throw new RangeError(`not an IPv4 address: ${text}`);
  return Buffer.from(parts);
}

/** ::ffff:a.b.c.d as 16 bytes. */
function mapped(text: string): Buffer {
  return Buffer.concat([Buffer.alloc(10), Buffer.from([0xff, 0xff]), ipv4(text)]);
}

/** Little-endian u16 / u32 at `o` (callers check the range: no bounds check, no call into Buffer). */
const rd16 = (b: Uint8Array, o: number): number => b[o]! | (b[o + 1]! << 8);
const rd32 = (b: Uint8Array, o: number): number => (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16)) + b[o + 3]! * 0x1000000;

const be16 = (n: number): number => ((n & 0xff) << 8) | ((n >> 8) & 0xff);

/**
 * Where to look: the whole window (the search), or only at offsets already
 * settled (the last check on fresh sockets, `at`); `gates` off for the check.
 */
export interface Scope {
  gates: boolean;
  at?: ReadonlyMap<string, number | BitField> | undefined;
}
export const SEARCH: Scope = { gates: true };

/**
 * Offsets (step-aligned, inside the window; only `only` when given) where
 * `ok` holds for every sample given (`i`: the sample's index in `samples`).
 */
function scan<S extends SockSample>(samples: readonly S[], window: Window, step: number, size: number, ok: (s: S, off: number, i: number) => boolean, only?: number): number[] {
  const out: number[] = [];
  const from = only ?? window[0];
  const to = only === undefined ? window[1] : Math.min(window[1], only + size);
  const n = samples.length;
  for (let off = from; off + size <= to; off += step) {
    let i = 0;
    for (; i < n; i++) {
      const s = samples[i]!;
      if (s.faults === 0 ? off + size > s.bytes.length : !readable(s, off, size)) break;
      if (!ok(s, off, i)) break;
    }
    if (i === n) out.push(off);
  }
  return out;
}

const num = (scope: Scope, f: string): number | undefined => {
  const v = scope.at?.get(f);
  return typeof v === 'number' ? v : v === undefined ? undefined : v.bitOffset >> 3;
};

/** A value seen before and after the capture: equal ones must match; different ones may match either. */
function either(t: { before: TcpNow; after: TcpNow }, pick: (n: TcpNow) => number | bigint): (number | bigint)[] {
  const a = pick(t.before);
  const b = pick(t.after);
  return a === b ? [a] : [a, b];
}

/** In the kernel half of x86-64 addresses, 4- or 5-level paging (the direct map starts at 0xff11... with LA57). */
/** A counter's values before and after the capture, as a range (it only grows). */
function between<T extends number | bigint>(t: { before: TcpNow; after: TcpNow }, pick: (n: TcpNow) => T): [T, T] {
  const a = pick(t.before);
  const b = pick(t.after);
  return a <= b ? [a, b] : [b, a];
}

const inRange = <T extends number | bigint>(v: T, [lo, hi]: [T, T]): boolean => v >= lo && v <= hi;

const isKernelPointer = (v: bigint): boolean => v >= 0xff00000000000000n && v !== 0xffffffffffffffffn;

// -------------------------------------------------------------- sock_common

/**
 * `gates` (on for the search, off for the last check): a field is only
 * searched where the samples can tell its candidates apart (both protocols,
 * every shutdown value, a non-zero counter).
 */
export function searchHead(samples: Samples, scope: Scope = SEARCH): Candidates[] {
  const gates = scope.gates;
  const all = samples.socks;
  const v4 = all.filter((s) => s.family === 2);
  const v6 = all.filter((s) => s.family === 10);
  const out: Candidates[] = [];
  const field = (f: keyof SockOffsets, window: Window, how: string, list: readonly SockSample[], step: number, size: number, ok: (s: SockSample, off: number, i: number) => boolean): void => {
    out.push({ field: f, window, how, candidates: list.length ? scan(list, window, step, size, ok, num(scope, f)) : [], samples: list.length });
  };
  field('skcFamily', WINDOWS.head, 'u16 = AF_INET (2) on IPv4 sockets, AF_INET6 (10) on IPv6 sockets', all, 2, 2, (s, o) => rd16(s.bytes, o) === s.family);
  // A state may move between TCP_INFO and the capture (a delayed ACK turning FIN_WAIT1 into FIN_WAIT2): before or after.
  field('skcState', WINDOWS.head, 'u8 = the TCP state TCP_INFO reports just before or after (ESTABLISHED, FIN_WAIT1/2, CLOSE_WAIT, CLOSE), 1 or 7 for UDP', all, 1, 1, (s, o) => s.bytes[o] === s.state || s.bytes[o] === s.tcp?.after.state);
  const daddr4 = v4.map((s) => ipv4(s.daddr).readUInt32LE(0));
  const saddr4 = v4.map((s) => ipv4(s.saddr).readUInt32LE(0));
  field('skcDaddr', WINDOWS.head, 'the peer IPv4 address (getpeername) of IPv4 sockets, 0 when unconnected', v4, 4, 4, (s, o, i) => rd32(s.bytes, o) === daddr4[i]);
  field('skcRcvSaddr', WINDOWS.head, 'the bound IPv4 address (getsockname) of IPv4 sockets', v4, 4, 4, (s, o, i) => rd32(s.bytes, o) === saddr4[i]);
  field('skcDport', WINDOWS.head, 'the peer port, network order, 0 when unconnected', all, 2, 2, (s, o) => rd16(s.bytes, o) === be16(s.dport));
  field('skcNum', WINDOWS.head, 'the local port, host order (0 once a TCP socket is closed)', all, 2, 2, (s, o) => rd16(s.bytes, o) === s.num);
  const v6conn = v6.filter((s) => s.daddr !== '0.0.0.0');
  const daddr6 = v6conn.map((s) => mapped(s.daddr));
  const saddr6 = v6.map((s) => mapped(s.saddr));
  field('skcV6Daddr', WINDOWS.headPointers, 'the peer address of AF_INET6 sockets (IPv4-mapped, 16 bytes)', v6conn, 4, 16, (s, o, i) => s.bytes.compare(daddr6[i]!, 0, 16, o, o + 16) === 0);
  field('skcV6RcvSaddr', WINDOWS.headPointers, 'the bound address of AF_INET6 sockets (IPv4-mapped, 16 bytes)', v6, 4, 16, (s, o, i) => s.bytes.compare(saddr6[i]!, 0, 16, o, o + 16) === 0);
  // skc_prot: one struct proto per protocol and family, TCP's never UDP's; the
  // addresses themselves where /proc/kallsyms shows them.
  const prot = samples.prot;
  const protOf = (s: SockSample): bigint | undefined => (prot ? (s.protocol === 6 ? (s.family === 2 ? prot.tcp : prot.tcpv6) : s.family === 2 ? prot.udp : prot.udpv6) : undefined);
  const kinds = new Map<string, SockSample[]>();
  for (const s of all) {
    const k = `${s.protocol}/${s.family}`;
    const list = kinds.get(k);
    if (list) list.push(s);
    else kinds.set(k, [s]);
  }
  const protocols = new Set(all.map((s) => s.protocol));
  field(
    'skcProt',
    WINDOWS.headPointers,
    prot ? 'the address of tcp_prot / tcpv6_prot / udp_prot / udpv6_prot (/proc/kallsyms) for each socket' : 'a kernel pointer, one value per protocol and family, TCP sockets never equal to UDP ones',
    protocols.size > 1 || prot || !gates ? all : [],
    8,
    8,
    (s, o) => {
      const v = s.bytes.readBigUInt64LE(o);
      const want = protOf(s);
      if (want !== undefined) return v === want;
      if (!isKernelPointer(v)) return false;
      if (kinds.get(`${s.protocol}/${s.family}`)!.some((t) => readable(t, o, 8) && t.bytes.readBigUInt64LE(o) !== v)) return false;
      return all.every((t) => t.protocol === s.protocol || !readable(t, o, 8) || t.bytes.readBigUInt64LE(o) !== v);
    },
  );
  return out;
}

/** skc_net: candidates (a kernel pointer equal in every socket of the netns), to be followed for ns.inum. */
export function netPointerCandidates(samples: Samples): number[] {
  const all = samples.socks;
  if (!all.length) return [];
  return scan(all, WINDOWS.headPointers, 8, 8, (s, o) => {
    const v = s.bytes.readBigUInt64LE(o);
    return isKernelPointer(v) && all.every((t) => !readable(t, o, 8) || t.bytes.readBigUInt64LE(o) === v);
  });
}

/** (skc_net, ns.inum) pairs: the pointer followed, the inode read at the offset (4-aligned in the net window). */
export function searchNet(samples: Samples, scope: Scope = SEARCH): { net: Candidates; inum: Candidates; pairs: [number, number][] } {
  const onlyNet = num(scope, 'skcNet');
  const onlyInum = num(scope, 'netNsInum');
  const withDerefs = samples.socks.filter((s) => s.derefs?.length);
  const pairs: [number, number][] = [];
  const ptrs = new Set<number>();
  for (const s of withDerefs) for (const d of s.derefs!) ptrs.add(d.ptrOff);
  for (const p of [...ptrs].sort((a, b) => a - b)) {
    if (onlyNet !== undefined && p !== onlyNet) continue;
    for (let o = WINDOWS.net[0]; o + 4 <= WINDOWS.net[1]; o += 4) {
      if (onlyInum !== undefined && o !== onlyInum) continue;
      const fits = withDerefs.every((s) => {
        const d = s.derefs!.find((x) => x.ptrOff === p);
        return d !== undefined && d.bytes !== undefined && rd32(d.bytes, o) === s.netns;
      });
      if (fits) pairs.push([p, o]);
    }
  }
  const how = 'the pointer in the socket, followed: the inode of /proc/self/ns/net at ns.inum';
  return {
    net: { field: 'skcNet', window: WINDOWS.headPointers, how: 'a kernel pointer equal in every socket of the namespace; ' + how, candidates: [...new Set(pairs.map((p) => p[0]))], samples: withDerefs.length },
    inum: { field: 'netNsInum', window: WINDOWS.net, how, candidates: [...new Set(pairs.map((p) => p[1]))], samples: withDerefs.length },
    pairs,
  };
}

// ------------------------------------------------------- struct sock, inet_sock

export function searchSock(samples: Samples, scope: Scope = SEARCH): { inetSport: Candidates; skProtocol: Candidates<BitField>; skShutdown: Candidates<BitField> } {
  const gates = scope.gates;
  const all = samples.socks;
  // Samples with a non-zero shutdown first: most bit positions fail at once.
  const tcp = all.filter((s) => s.protocol === 6 && s.shutdown !== undefined).sort((a, b) => (b.shutdown ?? 0) - (a.shutdown ?? 0));
  const inetSport = scan(all, WINDOWS.sock, 2, 2, (s, o) => rd16(s.bytes, o) === be16(s.sport), num(scope, 'inetSport'));
  const atProto = scope.at?.get('skProtocol') as BitField | undefined;
  const atShut = scope.at?.get('skShutdown') as BitField | undefined;
  // sk_protocol: a u16 since 5.6 (found as 16 bits); an 8-bit bitfield before.
  const protocols = new Set(all.map((s) => s.protocol));
  let proto: BitField[] = [];
  if (protocols.size > 1 || !gates) {
    if (!atProto || atProto.bits === 16) proto = scan(all, WINDOWS.sock, 2, 2, (s, o) => rd16(s.bytes, o) === s.protocol, atProto && atProto.bitOffset >> 3).map((o) => ({ bitOffset: o * 8, bits: 16 }));
    if (!proto.length && (!atProto || atProto.bits === 8)) proto = scan(all, WINDOWS.sock, 1, 1, (s, o) => s.bytes[o] === s.protocol, atProto && atProto.bitOffset >> 3).map((o) => ({ bitOffset: o * 8, bits: 8 }));
  }
  // sk_shutdown: RCV_SHUTDOWN | SEND_SHUTDOWN, two bits at any bit position (a
  // byte of its own since 6.x, a bitfield before): read as the two bits its values use.
  const shut: BitField[] = [];
  const seen = new Set(tcp.map((s) => s.shutdown));
  if (seen.size === 4 || !gates) {
    const from = atShut?.bitOffset ?? WINDOWS.sock[0] * 8;
    const to = atShut ? atShut.bitOffset + 1 : (WINDOWS.sock[1] - 1) * 8;
    // Byte by byte: the 16 bits at o read once per sample for the 8 bit positions starting there.
    for (let o = from >> 3; o << 3 < to; o++) {
      let mask = 0xff;
      for (let bit = o << 3; bit < (o + 1) << 3; bit++) if (bit < from || bit >= to) mask &= ~(1 << (bit & 7));
      for (let i = 0; i < tcp.length && mask !== 0; i++) {
        const s = tcp[i]!;
        if (!readable(s, o, 2)) {
          mask = 0;
          break;
        }
        const v = s.bytes[o]! | (s.bytes[o + 1]! << 8);
        for (let b = 0; b < 8; b++) if (mask & (1 << b) && ((v >> b) & 3) !== s.shutdown) mask &= ~(1 << b);
      }
      for (let b = 0; b < 8; b++) if (mask & (1 << b)) shut.push({ bitOffset: (o << 3) + b, bits: 2 });
    }
  }
  return {
    inetSport: { field: 'inetSport', window: WINDOWS.sock, how: 'the local port, network order', candidates: inetSport, samples: all.length },
    skProtocol: {
      field: 'skProtocol',
      window: WINDOWS.sock,
      how: 'IPPROTO_TCP (6) on TCP sockets, IPPROTO_UDP (17) on UDP sockets (16 bits; 8 where no u16 fits)',
      candidates: proto,
      samples: protocols.size > 1 || !gates ? all.length : 0,
    },
    skShutdown: {
      field: 'skShutdown',
      window: WINDOWS.sock,
      how: 'two bits: 0 open, 2 after shutdown(SHUT_WR), 1 after the peer\'s FIN, 3 after both',
      candidates: shut,
      samples: seen.size === 4 || !gates ? tcp.length : 0,
    },
  };
}

// ------------------------------------------------------------------ tcp_sock

/** Samples of one socket in capture order, for deltas between them. */
function bySocket(list: readonly SockSample[]): SockSample[][] {
  const m = new Map<string, SockSample[]>();
  for (const s of list) {
    const l = m.get(s.socket);
    if (l) l.push(s);
    else m.set(s.socket, [s]);
  }
  return [...m.values()].filter((l) => l.length > 1);
}

const u32 = (s: SockSample, o: number): number => rd32(s.bytes, o);

/**
 * A pair of sequence counters (a, b) with a - b = what the kernel reports
 * (SIOCOUTQ: write_seq - snd_una; SIOCINQ: rcv_nxt - copied_seq) in every
 * capture, the one `counted` (snd_una; rcv_nxt) advancing by exactly the
 * bytes acked (received) between two captures of one socket, and both equal
 * to the values set under TCP_REPAIR where they were.
 */
function seqPairs(
  tcp: readonly SockSample[],
  diff: (s: SockSample, t: TcpNow) => number,
  counter: (t: TcpNow) => bigint,
  exact: (s: NonNullable<SockSample['seqs']>) => [number, number],
  counted: 0 | 1,
  only?: [number | undefined, number | undefined],
): [number, number][] {
  const [lo, hi] = WINDOWS.tcp;
  // Start from the capture with the largest difference: fewest pairs.
  const ordered = [...tcp].sort((x, y) => diff(y, y.tcp!.before) - diff(x, x.tcp!.before));
  const first = ordered[0];
  if (!first) return [];
  let pairs: [number, number][] = [];
  const firstDiffs = either(first.tcp!, (t) => diff(first, t)) as number[];
  const pinned = tcp.find((s) => s.seqs);
  if (pinned) {
    // The values set under TCP_REPAIR pin both counters: start from the few
    // offsets holding them there (the same pairs as the loop below finds,
    // fewer to filter: thousands of zero words pair up where a difference is 0).
    const [va, vb] = exact(pinned.seqs!);
    const as: number[] = [];
    const bs: number[] = [];
    for (let o = lo; o + 4 <= hi; o += 4) {
      const v = u32(pinned, o);
      if (v === va >>> 0) as.push(o);
      if (v === vb >>> 0) bs.push(o);
    }
    for (const b of bs) {
      if (!readable(first, b, 4) || (only?.[1] !== undefined && b !== only[1])) continue;
      for (const a of as) {
        if (a === b || !readable(first, a, 4) || (only?.[0] !== undefined && a !== only[0])) continue;
        if (firstDiffs.includes((u32(first, a) - u32(first, b)) >>> 0)) pairs.push([a, b]);
      }
    }
  } else {
    const byValue = new Map<number, number[]>();
    for (let o = lo; o + 4 <= hi; o += 4) {
      if (!readable(first, o, 4)) continue;
      const v = u32(first, o);
      const l = byValue.get(v);
      if (l) l.push(o);
      else byValue.set(v, [o]);
    }
    for (let b = lo; b + 4 <= hi; b += 4) {
      if (!readable(first, b, 4) || (only?.[1] !== undefined && b !== only[1])) continue;
      for (const d of firstDiffs) for (const a of byValue.get((u32(first, b) + d) >>> 0) ?? []) if (a !== b && (only?.[0] === undefined || a === only[0])) pairs.push([a, b]);
    }
  }
  for (const s of ordered.slice(1)) {
    const ds = either(s.tcp!, (t) => diff(s, t)) as number[];
    pairs = pairs.filter(([a, b]) => readable(s, a, 4) && readable(s, b, 4) && ds.includes((u32(s, a) - u32(s, b)) >>> 0));
  }
  for (const s of tcp) {
    if (!s.seqs) continue;
    const [va, vb] = exact(s.seqs);
    pairs = pairs.filter(([a, b]) => u32(s, a) === va >>> 0 && u32(s, b) === vb >>> 0);
  }
  for (const list of bySocket(tcp)) {
    for (let i = 1; i < list.length; i++) {
      const p = list[i - 1]!;
      const n = list[i]!;
      const moved = new Set<number>();
      for (const x of either(p.tcp!, counter) as bigint[]) for (const y of either(n.tcp!, counter) as bigint[]) moved.add(Number(BigInt.asUintN(32, (y as bigint) - (x as bigint))));
      pairs = pairs.filter((pair) => moved.has((u32(n, pair[counted]) - u32(p, pair[counted])) >>> 0));
    }
  }
  return pairs;
}

export function searchTcp(samples: Samples, scope: Scope = SEARCH): Candidates[] {
  const gates = scope.gates;
  const tcp = samples.socks.filter((s) => s.protocol === 6 && s.tcp);
  const win = WINDOWS.tcp;
  const out: Candidates[] = [];
  const exact32 = (f: keyof SockOffsets, how: string, pick: (t: TcpNow) => number): void => {
    const list = tcp;
    const anyNonzero = !gates || tcp.some((s) => either(s.tcp!, pick).some((v) => v !== 0));
    // A counter only grows: one that moved while the socket was copied (a
    // timer's retransmission in a slow guest) may show any value in between.
    const want = list.map((s) => between(s.tcp!, pick));
    out.push({ field: f, window: win, how, candidates: anyNonzero ? scan(list, win, 4, 4, (s, o, i) => inRange(u32(s, o), want[i]!), num(scope, f)) : [], samples: anyNonzero ? list.length : 0 });
  };
  const exact64 = (f: keyof SockOffsets, how: string, pick: (t: TcpNow) => bigint): void => {
    const want = tcp.map((s) => between(s.tcp!, pick));
    // Compared as two u32 halves (no BigInt per read): the range as [hi, lo] words.
    const lo = want.map(([a, b]) => [Number(a & 0xffffffffn), Number(a >> 32n), Number(b & 0xffffffffn), Number(b >> 32n)] as const);
    const fits = (s: SockSample, o: number, i: number): boolean => {
      const [alo, ahi, blo, bhi] = lo[i]!;
      const vlo = rd32(s.bytes, o);
      const vhi = rd32(s.bytes, o + 4);
      return (vhi > ahi || (vhi === ahi && vlo >= alo)) && (vhi < bhi || (vhi === bhi && vlo <= blo));
    };
    out.push({ field: f, window: win, how, candidates: scan(tcp, win, 8, 8, fits, num(scope, f)), samples: tcp.length });
  };
  exact64('tcpBytesAcked', 'u64 = tcpi_bytes_acked', (t) => t.bytesAcked);
  exact64('tcpBytesReceived', 'u64 = tcpi_bytes_received', (t) => t.bytesReceived);
  exact32('tcpSegsIn', 'u32 = tcpi_segs_in', (t) => t.segsIn);
  exact32('tcpSegsOut', 'u32 = tcpi_segs_out', (t) => t.segsOut);
  exact32('tcpTotalRetrans', 'u32 = tcpi_total_retrans (a connection that retransmitted: data sent under TCP_REPAIR never left)', (t) => t.totalRetrans);
  const shifted = (f: keyof SockOffsets, how: string, shift: number, pick: (t: TcpNow) => number): void => {
    const want = tcp.map((s) => either(s.tcp!, pick));
    out.push({
      field: f,
      window: win,
      how,
      candidates: scan(tcp, win, 4, 4, (s, o, i) => want[i]!.includes(u32(s, o) >>> shift), num(scope, f)),
      samples: tcp.length,
    });
  };
  shifted('tcpSrttUs', 'u32 >> 3 = tcpi_rtt', 3, (t) => t.rtt);
  shifted('tcpMdevUs', 'u32 >> 2 = tcpi_rttvar', 2, (t) => t.rttvar);
  const snd = seqPairs(tcp, (_s, t) => t.outq, (t) => t.bytesAcked, (q) => [q.writeSeq, q.sndUna], 1, [num(scope, 'tcpWriteSeq'), num(scope, 'tcpSndUna')]);
  out.push({ field: 'tcpWriteSeq', window: win, how: 'write_seq - snd_una = SIOCOUTQ (data unsent under MSG_MORE, sent unacknowledged under TCP_REPAIR)', candidates: [...new Set(snd.map((p) => p[0]))], samples: tcp.length });
  out.push({ field: 'tcpSndUna', window: win, how: 'snd_una: write_seq - SIOCOUTQ, advancing by the bytes acked between captures', candidates: [...new Set(snd.map((p) => p[1]))], samples: tcp.length });
  // SIOCINQ leaves out a FIN received (SOCK_DONE), which takes a sequence number.
  const rcv = seqPairs(tcp, (s, t) => t.inq + ((s.shutdown ?? 0) & 1), (t) => t.bytesReceived, (q) => [q.rcvNxt, q.copiedSeq], 0, [num(scope, 'tcpRcvNxt'), num(scope, 'tcpCopiedSeq')]);
  out.push({ field: 'tcpRcvNxt', window: win, how: 'rcv_nxt - copied_seq = SIOCINQ (unread data; data queued under TCP_REPAIR, never acknowledged)', candidates: [...new Set(rcv.map((p) => p[0]))], samples: tcp.length });
  out.push({ field: 'tcpCopiedSeq', window: win, how: 'copied_seq: rcv_nxt - SIOCINQ', candidates: [...new Set(rcv.map((p) => p[1]))], samples: tcp.length });
  return out;
}

// ------------------------------------------------------ kprobe-only objects

/** struct socket's sk: the word that is the address of the socket captured from the same fd. */
export function searchSocket(args: readonly ArgSample[]): Candidates {
  const list = args.filter((a) => a.kind === 'socket' && a.sk !== 0n && !a.argFault);
  const cands: number[] = [];
  if (list.length) {
    for (let o = WINDOWS.socket[0]; o + 8 <= WINDOWS.socket[1]; o += 8) if (list.every((a) => a.bytes.readBigUInt64LE(o) === a.sk)) cands.push(o);
  }
  return { field: 'socketSk', window: WINDOWS.socket, how: 'the address of the struct sock of the same socket (getsockname through inet_getname)', candidates: cands, samples: list.length };
}

function sockaddr(peer: { addr: string; port: number; family: 2 | 10 }): Buffer {
  if (peer.family === 2) return Buffer.concat([Buffer.from([2, 0]), Buffer.from([peer.port >> 8, peer.port & 0xff]), ipv4(peer.addr)]);
  return Buffer.concat([Buffer.from([10, 0]), Buffer.from([peer.port >> 8, peer.port & 0xff]), Buffer.alloc(4), mapped(peer.addr)]);
}

/** msghdr's msg_name: the pointer whose target is the sockaddr given to sendto. */
export function searchMsghdr(args: readonly ArgSample[]): Candidates {
  const list = args.filter((a) => a.kind === 'msghdr' && a.peer && !a.argFault);
  const cands: number[] = [];
  if (list.length) {
    for (let o = WINDOWS.msghdr[0]; o + 8 <= WINDOWS.msghdr[1]; o += 8) {
      const fits = list.every((a) => {
        const d = a.derefs.find((x) => x.ptrOff === o)?.bytes;
        const want = sockaddr(a.peer!);
        return d !== undefined && d.subarray(0, want.length).equals(want);
      });
      if (fits) cands.push(o);
    }
  }
  return { field: 'msghdrName', window: WINDOWS.msghdr, how: 'a pointer to the sockaddr given to sendto (udp_sendmsg)', candidates: cands, samples: list.length };
}

/**
 * sk_buff head / network_header / transport_header: a pointer (head) and two
 * u16 offsets from it at which the datagram's IPv4 and UDP headers are, with
 * the addresses, ports and length the guesser sent (skb_consume_udp).
 */
export function searchSkb(args: readonly ArgSample[]): { head: Candidates; network: Candidates; transport: Candidates; triples: [number, number, number][] } {
  const list = args.filter((a) => a.kind === 'skb' && a.peer && a.local && a.payload !== undefined && !a.argFault);
  // Per sample, the (head, network, transport) triples its datagram shows; a
  // triple stays if every sample that followed that pointer shows it too.
  const shown = list.map((a) => {
    const found = new Set<string>();
    for (const d of a.derefs) {
      if (!d.bytes) continue;
      const D = d.bytes;
      const nets: number[] = [];
      const trans: number[] = [];
      for (let o = 0; o + 2 <= Math.min(WINDOWS.skb[1], a.bytes.length); o += 2) {
        const v = rd16(a.bytes, o);
        if (v + 20 <= D.length && D[v] === 0x45 && D[v + 9] === 17 && D.subarray(v + 12, v + 16).equals(ipv4(a.peer!.addr)) && D.subarray(v + 16, v + 20).equals(ipv4(a.local!.addr))) nets.push(o);
        if (v + 8 <= D.length && D.readUInt16BE(v) === a.peer!.port && D.readUInt16BE(v + 2) === a.local!.port && D.readUInt16BE(v + 4) === a.payload! + 8) trans.push(o);
      }
      for (const n of nets) for (const t of trans) found.add(`${d.ptrOff},${n},${t}`);
    }
    return { followed: new Set(a.derefs.map((d) => d.ptrOff)), found };
  });
  const all = new Set(shown.flatMap((x) => [...x.found]));
  const triples = [...all]
    .filter((k) => {
      const p = Number(k.split(',')[0]);
      return shown.every((x) => !x.followed.has(p) || x.found.has(k));
    })
    .map((k) => k.split(',').map(Number) as [number, number, number]);
  const mk = (f: keyof SockOffsets, how: string, k: 0 | 1 | 2): Candidates => ({ field: f, window: WINDOWS.skb, how, candidates: [...new Set(triples.map((t) => t[k]))], samples: list.length });
  return {
    head: mk('skbHead', 'a pointer to the buffer holding the datagram read (skb_consume_udp)', 0),
    network: mk('skbNetworkHeader', 'u16 offset from head of the IPv4 header with the addresses sent', 1),
    transport: mk('skbTransportHeader', 'u16 offset from head of the UDP header with the ports and length sent', 2),
    triples,
  };
}
