// offsetsFromBtf against the kernel's BTF read independently (bpftool's
// JSON dump), and its errors on a BTF that lacks a member.
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { offsetsFromBtf } from '../src/index.js';

interface JType { id: number; kind: string; name: string; size?: number; type_id?: number; members?: { name: string; type_id: number; bits_offset: number; bitfield_size?: number }[] }
const types: JType[] = JSON.parse(execFileSync('bpftool', ['btf', 'dump', 'file', '/sys/kernel/btf/vmlinux', '-j'], { encoding: 'utf8', maxBuffer: 1 << 30 })).types;
const byId = new Map(types.map((t) => [t.id, t]));
const struct = (name: string): JType => types.find((t) => t.kind === 'STRUCT' && t.name === name && t.size)!;

/** Bit offset of a member path, walking anonymous members as C does. */
function bitOffset(t: JType, path: string[]): number {
  const [head, ...rest] = path;
  for (const m of t.members ?? []) {
    if (m.name === head) {
      if (rest.length === 0) return m.bits_offset;
      let inner = byId.get(m.type_id)!;
      while (inner.kind === 'TYPEDEF' || inner.kind === 'VOLATILE' || inner.kind === 'CONST') inner = byId.get(inner.type_id!)!;
      return m.bits_offset + bitOffset(inner, rest);
    }
    if (m.name === '(anon)') {
      const inner = byId.get(m.type_id)!;
      try {
        return m.bits_offset + bitOffset(inner, path);
      } catch {
        // not in this anonymous member
      }
    }
  }
  throw new Error(`${t.name} has no ${path.join('.')}`);
}

describe('offsetsFromBtf', () => {
  it('equals the offsets bpftool reads from the same BTF', () => {
    const o = offsetsFromBtf();
    const sk = struct('sock');
    const tcp = struct('tcp_sock');
    const at = (t: JType, ...p: string[]): number => bitOffset(t, p) / 8;
    expect(o.skcFamily).toBe(at(sk, '__sk_common', 'skc_family'));
    expect(o.skcState).toBe(at(sk, '__sk_common', 'skc_state'));
    expect(o.skcDport).toBe(at(sk, '__sk_common', 'skc_dport'));
    expect(o.skcDaddr).toBe(at(sk, '__sk_common', 'skc_daddr'));
    expect(o.skcRcvSaddr).toBe(at(sk, '__sk_common', 'skc_rcv_saddr'));
    expect(o.skcV6Daddr).toBe(at(sk, '__sk_common', 'skc_v6_daddr'));
    expect(o.skcNet).toBe(at(sk, '__sk_common', 'skc_net'));
    expect(o.skcNum).toBe(at(sk, '__sk_common', 'skc_num'));
    expect(o.skcProt).toBe(at(sk, '__sk_common', 'skc_prot'));
    expect(o.netNsInum).toBe(at(struct('net'), 'ns', 'inum'));
    expect(o.inetSport).toBe(at(struct('inet_sock'), 'inet_sport'));
    expect(o.skProtocol!.bitOffset).toBe(bitOffset(sk, ['sk_protocol']));
    expect(o.skShutdown.bitOffset).toBe(bitOffset(sk, ['sk_shutdown']));
    for (const [k, f] of [['tcpWriteSeq', 'write_seq'], ['tcpSndUna', 'snd_una'], ['tcpBytesAcked', 'bytes_acked'], ['tcpCopiedSeq', 'copied_seq'], ['tcpRcvNxt', 'rcv_nxt'], ['tcpBytesReceived', 'bytes_received'], ['tcpSrttUs', 'srtt_us'], ['tcpMdevUs', 'mdev_us'], ['tcpTotalRetrans', 'total_retrans'], ['tcpSegsIn', 'segs_in'], ['tcpSegsOut', 'segs_out']] as const) {
      expect(o[k], k).toBe(at(tcp, f));
    }
    const skb = struct('sk_buff');
    expect(o.skbHead).toBe(at(skb, 'head'));
    expect(o.skbNetworkHeader).toBe(at(skb, 'network_header'));
    expect(o.skbTransportHeader).toBe(at(skb, 'transport_header'));
    expect(o.socketSk).toBe(at(struct('socket'), 'sk'));
    expect(o.msghdrName).toBe(at(struct('msghdr'), 'msg_name'));
  });
});
