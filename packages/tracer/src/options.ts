import type { SockOffsets } from '@tracer-bpf/offsetguess';
import type { BackendName } from './backends.js';

export type Transport = 'ringbuf' | 'perf';
export type KernelReads = 'direct' | 'probe';

export interface TracerOptions {
  /**
   * Which hooks feed the counters. Default 'auto': the first of fentry
   * (fentry/fexit on the socket functions), kprobe, tp_btf, tracepoint that
   * runs on this kernel. Any can be forced.
   */
  backend?: BackendName | 'auto';
  /**
   * fentry backend: function hooks (names as in FUNCTION_HOOKS / info.hooks,
   * e.g. 'tcp accept') to run as kprobes even where an fentry variant
   * matches, which is what happens on its own to a hook whose prototype
   * matches none: forcing it tests that fallback on a kernel with fentry.
   */
  kprobeHooks?: readonly string[];
  /**
   * How a backend that runs tp_btf programs (tp_btf, fentry's lifecycle)
   * learns that this kernel allows them. 'load' (default): kernel BTF is
   * readable and the feature is not turned off (TRACER_BPF_FEATURES_OFF),
   * then the tracer's own load decides: when the kernel refuses a tp_btf
   * program (not a verifier log: EPERM, EINVAL, ENOTSUPP, ESRCH, ...), auto
   * goes on to the next backend and info.backendReason says why; a forced
   * backend fails with ERR_NO_BACKEND. 'probe': the loader's feature probe
   * (a trivial tp_btf program loaded and attached) first, as before.
   */
  tpBtfCheck?: 'load' | 'probe';
  /** How close records reach userspace. Default 'auto': the ring buffer; 'perf' forces per-CPU batches on a perf buffer. */
  transport?: Transport | 'auto';
  /**
   * Kernel struct offsets. 'auto' (default): kernel BTF when readable, else
   * guessed (@tracer-bpf/offsetguess); 'btf': kernel BTF only; 'guess':
   * guessed even where BTF is readable; or a SockOffsets object (e.g. saved
   * from an earlier guess). Guessed offsets lack the function hooks' fields
   * on a kernel without kprobes: the fentry and kprobe backends are then refused.
   */
  offsets?: 'auto' | 'btf' | 'guess' | SockOffsets;
  /**
   * Peers of unconnected UDP sockets from the syscall tracepoints (sendto,
   * sendmsg, sendmmsg, recvfrom, recvmsg, recvmmsg). Attaching any of them
   * puts every thread of the host on the syscall slow path; without them an
   * unconnected UDP flow has the unspecified peer (:: / 0.0.0.0, port 0).
   * 'auto' (default): attached on demand, once the first datagram of an
   * unconnected socket is seen without its peer (checked every closedPollMs
   * and at each snapshot), so hosts without such sockets never pay for them;
   * datagrams before that keep the unspecified peer. true: attached at start.
   * false: never.
   */
  udpPeers?: boolean | 'auto';
  /**
   * Idle time after which a UDP flow ends (delivered closed, reason
   * 'expired'), ms: seen one way / seen both ways (assured). Default: the
   * host's nf_conntrack_udp_timeout / _stream, else 30 000 / 120 000.
   */
  udpTimeoutMs?: number;
  udpAssuredTimeoutMs?: number;
  /**
   * How the hot path reads kernel structs. 'direct': plain loads through the
   * BTF-typed socket pointer, checked by the verifier (tp_btf backend);
   * 'probe': a bpf_probe_read_kernel() call per read (every backend). Default
   * 'auto': direct where the backend and the verifier allow it, else probe.
   */
  kernelReads?: KernelReads | 'auto';
  /**
   * A TCP connection's record is removed when the kernel destroys the socket,
   * never for being idle. One idle longer than this (ms, default 600 000) is
   * checked against the kernel's socket table of its network namespace: if
   * the kernel no longer has the connection (its destroy was never seen),
   * the record is removed and delivered closed, reason 'expired'.
   */
  tcpIdleCheckMs?: number;
  /**
   * Whether the hash maps (the per-connection sock_state and conn_stats, and
   * the smaller port_bindings and udp_calls) are preallocated: true, all
   * their elements at creation (about 40 MiB zeroed at the default
   * maxConnections: most of a warm start); false, elements
   * allocated as connections appear (BPF_F_NO_PREALLOC: the kernel's BPF
   * memory allocator, 6.1+). Default 'auto': false on 6.1+ kernels that are
   * not PREEMPT_RT, else true. Before 6.1 the verifier refuses (PREEMPT_RT)
   * or warns in the kernel log (WARN_ONCE) when a kprobe / tracepoint
   * program uses a map that is not preallocated: false is refused there.
   * Without preallocation an insert can fail when the kernel cannot allocate
   * (counted as map full, as a full map is). info.mapPrealloc says the choice.
   */
  mapPrealloc?: boolean | 'auto';
  /** Entries of the per-connection map (default 65536); the TCP and socket maps get the same. */
  maxConnections?: number;
  /**
   * Ring buffer size in bytes, a power of two (default 4 MiB: about 27 000
   * close records, over a second of 20 000 closes/s while the reader is held up).
   */
  ringBytes?: number;
  /**
   * At most how often a send/recv rewrites a TCP connection's RTT, retransmits,
   * segments and states, ms (default 10; 0: at every call). Every other event
   * (state change, retransmit, close) rewrites them always; bytes and packets
   * are always current.
   */
  tcpStatsIntervalMs?: number;
  /** Closed connections kept per client of connections()/snapshot() until its next call (default 50 000); more are dropped and counted. */
  maxClosedPerClient?: number;
  /** A client of connections() silent this long is dropped with its queue, ms (default 120 000). */
  clientTimeoutMs?: number;
  /** Longest a close record waits in the ring buffer before userspace reads it, ms (default 200). */
  closedPollMs?: number;
  /** Stop and release everything when this signal aborts. */
  signal?: AbortSignal;
}
