// Settings handed to the eBPF programs as globals before load.
import * as fs from 'node:fs';
import { statSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { readProcText, readTracepointFormat, type TracepointFormat } from '@tracer-bpf/loader';
import type { SockOffsets } from '@tracer-bpf/offsetguess';
import type { BackendName } from './backends.js';
import { TracerError } from './errors.js';

export type Globals = Record<string, number | bigint | boolean>;

/** SK_HEAD of bpf/src/tracer_kernel.h: the head of struct sock_common read in one go. */
export const SK_HEAD = 128;

/** Every field the hot path takes from the head of sock_common lies in its first SK_HEAD bytes (IPv6 fields absent on a kernel without IPv6: never read). */
export function headOk(o: SockOffsets): boolean {
  const fields: Array<[number, number]> = [
    [o.skcFamily, 2], [o.skcState, 1], [o.skcRcvSaddr, 4], [o.skcDaddr, 4], [o.skcDport, 2], [o.skcNum, 2],
    [o.skcProt, 8], [o.skcNet, 8], [o.skcV6RcvSaddr ?? 0, 16], [o.skcV6Daddr ?? 0, 16],
  ];
  return fields.every(([off, size]) => off + size <= SK_HEAD);
}

/** protGlobals() of /proc/kallsyms, read once per process (built-in symbols do not move while the kernel runs). */
let runningProt: Globals | undefined;

/** Addresses of tcp_prot, tcpv6_prot, udp_prot, udpv6_prot (kallsyms data symbols: CONFIG_KALLSYMS_ALL), or zeros. */
export function protGlobals(kallsyms = '/proc/kallsyms'): Globals {
  if (kallsyms === '/proc/kallsyms') return { ...(runningProt ??= readProtGlobals(kallsyms)) };
  return readProtGlobals(kallsyms);
}

/**
 * Start reading /proc/kallsyms for protGlobals() in the background. The
 * kernel hands it out about 4 KiB a read(): some 1300 reads and 45-90 ms of
 * kernel time for 5 MB here. Read asynchronously on the main thread, each of
 * those reads waits for the event loop, which start() keeps busy (kernel BTF):
 * it took 150-350 ms. So a worker thread reads it synchronously and scans it,
 * on the other CPU, while start() parses BTF; it posts back the four
 * addresses only. A failure leaves it to protGlobals() to read it.
 */
export async function prefetchProtGlobals(): Promise<void> {
  if (runningProt) return;
  try {
    const found = await new Promise<Globals>((resolve, reject) => {
      const w = new Worker(kallsymsWorker(), { eval: true });
      prefetching.add(w);
      w.once('exit', () => prefetching.delete(w));
      w.once('message', (m: Globals) => {
        resolve(m);
        void w.terminate();
      });
      w.once('error', reject);
      // Referenced: start() awaits it (it ends by itself within ~100 ms).
      w.once('exit', () => reject(new Error('kallsyms worker exited')));
    });
    runningProt ??= found;
  } catch {
    // protGlobals() reads it again and says what it found
  }
}

function readProtGlobals(kallsyms: string): Globals {
  let text = '';
  try {
    text = readProcText(fs, kallsyms);
  } catch {
    return { prot_tcp: 0n };
  }
  return protFromText(text);
}

export function protFromText(text: string): Globals {
  const want = new Map([['tcp_prot', 'prot_tcp'], ['tcpv6_prot', 'prot_tcpv6'], ['udp_prot', 'prot_udp'], ['udpv6_prot', 'prot_udpv6']]);
  const found: Globals = {};
  // indexOf, not a regex over the whole file (5 MB here): start-up time.
  for (const [sym, global] of want) {
    for (const kind of [' d ', ' D ']) {
      const at = text.indexOf(`${kind}${sym}\n`);
      if (at < 0) continue;
      const lineStart = text.lastIndexOf('\n', at) + 1;
      found[global] = BigInt(`0x${text.slice(lineStart, at)}`);
      break;
    }
  }
  // All four, and real addresses (kptr_restrict shows zeros): else the programs read sk_protocol.
  const ok = [...want.values()].every((g) => typeof found[g] === 'bigint' && found[g] !== 0n);
  return ok ? found : { prot_tcp: 0n };
}

/** Workers of prefetchProtGlobals() still reading. */
const prefetching = new Set<Worker>();

/** Stop the reads prefetchProtGlobals() started (their promises resolve, with nothing found). */
export function cancelProtPrefetch(): void {
  for (const w of prefetching) void w.terminate();
}

/** Source of the worker of prefetchProtGlobals(): protFromText() on readProcText() of `path`, read synchronously (its own thread), posted back. */
export function kallsymsWorker(path = '/proc/kallsyms'): string {
  return `
const fs = require('node:fs');
const { parentPort } = require('node:worker_threads');
parentPort.postMessage((${protFromText.toString()})((${readProcText.toString()})(fs, ${JSON.stringify(path)})));
`;
}

/**
 * Kernel struct offsets, as bpf/src/tracer_kernel.h names them. A field
 * guessed offsets lack (o.unavailable) is 0: the IPv6 addresses on a kernel
 * without IPv6 (no AF_INET6 socket to read them from), the function hooks'
 * fields where those backends are refused, sk_protocol where tcp_prot & co.
 * are known from /proc/kallsyms (Tracer.start checks both).
 */
export function offsetGlobals(o: SockOffsets): Globals {
  return {
    off_skc_family: o.skcFamily,
    off_skc_state: o.skcState,
    off_skc_rcv_saddr: o.skcRcvSaddr,
    off_skc_daddr: o.skcDaddr,
    off_skc_dport: o.skcDport,
    off_skc_v6_rcv_saddr: o.skcV6RcvSaddr ?? 0,
    off_skc_v6_daddr: o.skcV6Daddr ?? 0,
    off_skc_net: o.skcNet,
    off_skc_num: o.skcNum,
    off_skc_prot: o.skcProt,
    head_ok: headOk(o) ? 1 : 0,
    off_net_ns_inum: o.netNsInum,
    off_inet_sport: o.inetSport,
    bitoff_sk_protocol: o.skProtocol?.bitOffset ?? 0,
    bits_sk_protocol: o.skProtocol?.bits ?? 0,
    bitoff_sk_shutdown: o.skShutdown.bitOffset,
    bits_sk_shutdown: o.skShutdown.bits,
    off_tcp_write_seq: o.tcpWriteSeq,
    off_tcp_snd_una: o.tcpSndUna,
    off_tcp_bytes_acked: o.tcpBytesAcked,
    off_tcp_copied_seq: o.tcpCopiedSeq,
    off_tcp_rcv_nxt: o.tcpRcvNxt,
    off_tcp_bytes_received: o.tcpBytesReceived,
    off_tcp_srtt_us: o.tcpSrttUs,
    off_tcp_mdev_us: o.tcpMdevUs,
    off_tcp_total_retrans: o.tcpTotalRetrans,
    off_tcp_segs_in: o.tcpSegsIn,
    off_tcp_segs_out: o.tcpSegsOut,
    off_skb_head: o.skbHead ?? 0,
    off_skb_network_header: o.skbNetworkHeader ?? 0,
    off_skb_transport_header: o.skbTransportHeader ?? 0,
    off_socket_sk: o.socketSk ?? 0,
    off_msghdr_name: o.msghdrName ?? 0,
    offsets_ready: 1,
  };
}

function field(fmt: TracepointFormat, name: string): number {
  const f = fmt.field(name);
  if (!f) {
    throw new TracerError('ERR_TRACEPOINT_LAYOUT', `tracepoint ${fmt.category}/${fmt.name} has no field "${name}" on this kernel`);
  }
  return f.offset;
}

/** Record field offsets of the classic tracepoints the 'tracepoint' backend reads (from tracefs). */
export function classicTracepointGlobals(perCall: boolean, legacy: boolean): Globals {
  const state = readTracepointFormat('sock', 'inet_sock_set_state');
  const g: Globals = {
    tp_state_skaddr: field(state, 'skaddr'),
    tp_state_oldstate: field(state, 'oldstate'),
    tp_state_newstate: field(state, 'newstate'),
    tp_destroy_skaddr: field(readTracepointFormat('tcp', 'tcp_destroy_sock'), 'skaddr'),
    tp_retransmit_skaddr: field(readTracepointFormat('tcp', 'tcp_retransmit_skb'), 'skaddr'),
  };
  if (perCall) {
    const send = readTracepointFormat('sock', 'sock_send_length');
    const recv = readTracepointFormat('sock', 'sock_recv_length');
    Object.assign(g, {
      tp_send_sk: field(send, 'sk'),
      tp_send_ret: field(send, 'ret'),
      tp_recv_sk: field(recv, 'sk'),
      tp_recv_ret: field(recv, 'ret'),
      tp_recv_flags: field(recv, 'flags'),
    });
  }
  if (legacy) {
    g.tp_rcv_space_adjust_skaddr = field(readTracepointFormat('tcp', 'tcp_rcv_space_adjust'), 'skaddr');
    // tcp:tcp_probe's record carries the socket only on newer kernels (not on 5.10 / 6.1):
    // without it the classic backend does not attach tp_probe (classicProbeUsable).
    const probe = readTracepointFormat('tcp', 'tcp_probe').field('skaddr');
    if (probe) g.tp_probe_skaddr = probe.offset;
  }
  return g;
}

/** The classic tcp:tcp_probe record has the socket pointer (skaddr) on this kernel. */
export function classicProbeUsable(): boolean {
  return readTracepointFormat('tcp', 'tcp_probe').field('skaddr') !== undefined;
}

/** The syscall records' argument and return slots; every syscall of the set must agree. */
export function syscallGlobals(): Globals {
  let args: number | undefined;
  let ret: number | undefined;
  for (const s of ['sendto', 'sendmsg', 'sendmmsg', 'recvfrom', 'recvmsg', 'recvmmsg']) {
    const enter = readTracepointFormat('syscalls', `sys_enter_${s}`);
    const first = enter.fields.find((f) => !f.common && f.name !== '__syscall_nr');
    if (!first) throw new TracerError('ERR_TRACEPOINT_LAYOUT', `syscalls/sys_enter_${s} has no argument fields`);
    const exit = field(readTracepointFormat('syscalls', `sys_exit_${s}`), 'ret');
    if (args !== undefined && (args !== first.offset || ret !== exit)) {
      throw new TracerError('ERR_TRACEPOINT_LAYOUT', `syscall tracepoint records disagree on this kernel (sys_enter_${s} arguments at ${first.offset}, expected ${args})`);
    }
    args = first.offset;
    ret = exit;
  }
  return { tp_sys_args: args!, tp_sys_ret: ret! };
}

/** init_pid_ns.ns.inum (include/linux/proc_ns.h). */
const PROC_PID_INIT_INO = 0xeffffffcn;

/** The tracer's own pid namespace: pids are reported as seen from it. */
export function pidNamespaceGlobals(): Globals {
  const st = statSync('/proc/self/ns/pid', { bigint: true });
  // bpf_get_ns_current_pid_tgid() answers only for tasks whose own pid
  // namespace is the given one (a process in a child namespace gets an error,
  // so pid 0). In the initial pid namespace (PROC_PID_INIT_INO) the global
  // tgid is already the pid the tracer sees: no namespace translation.
  if (st.ino === PROC_PID_INIT_INO) return { pidns_dev: 0n, pidns_ino: 0n };
  return { pidns_dev: st.dev, pidns_ino: st.ino };
}

export type { BackendName };
