// The one table of backends: which programs of bpf/src/tracer.bpf.c each
// loads, and what it needs from the kernel. `auto` takes the first row whose
// needs hold (fentry, kprobe, tp_btf, tracepoint); any row can be forced (so
// fallbacks are tested on kernels that have the preferred path).

export type BackendName = 'fentry' | 'kprobe' | 'tp_btf' | 'tracepoint';

/** How the function hooks of the fentry and kprobe backends run (tracepoint backends have none). */
export type HookKind = 'fentry' | 'kprobe';

/** An fentry/fexit program and the prototype (as the kernel's BTF spells it) it was compiled for. */
export interface FentryProgram {
  program: string;
  target: string;
  proto: string;
}

/** A kprobe or kretprobe program (kretprobes only on functions that never block). */
export interface KprobeProgram {
  program: string;
  target: string;
  retprobe?: boolean;
}

/** What one kernel function (or a v4/v6 pair of them) means for the tracer, hooked either way. */
export interface FunctionHook {
  name: string;
  /**
   * fentry/fexit variants, one per known prototype where the return value's
   * ctx slot moves: the first whose every program's prototype matches the
   * kernel's BTF is loaded; none matching: the hook runs as kprobes.
   */
  fentry: readonly (readonly FentryProgram[])[];
  kprobe: readonly KprobeProgram[];
  /** Set for a hook the tracer runs without (what is lost): a kernel without it still traces. */
  optional?: string;
}

const SOCK_ADDR_INT = 'int (struct sock *, struct sockaddr *, int)';
const SOCKET_ADDR_INT = 'int (struct socket *, struct sockaddr *, int)';
const UDP_SENDMSG = 'int (struct sock *, struct msghdr *, size_t)';

/**
 * A hook on a function that never blocks and its IPv6 twin, read at their
 * return: fexit on both, or an entry kprobe and a kretprobe on each
 * (programs f_<fn>, k_<fn>, kr_<fn>).
 */
function returningPair(name: string, targets: readonly string[], proto: string, optional: string): FunctionHook {
  return {
    name,
    fentry: [targets.map((target) => ({ program: `f_${target}`, target, proto }))],
    kprobe: targets.flatMap((target) => [
      { program: `k_${target}`, target },
      { program: `kr_${target}`, target, retprobe: true },
    ]),
    optional,
  };
}

/** The function hooks of the fentry and kprobe backends (bpf/src/tracer_calls.h says what each does). */
export const FUNCTION_HOOKS: readonly FunctionHook[] = [
  {
    name: 'tcp send',
    fentry: [[{ program: 'f_tcp_push', target: 'tcp_push', proto: 'void (struct sock *, int, int, int, int)' }]],
    kprobe: [{ program: 'k_tcp_push', target: 'tcp_push' }],
  },
  {
    name: 'tcp receive',
    fentry: [[{ program: 'f_tcp_cleanup_rbuf', target: 'tcp_cleanup_rbuf', proto: 'void (struct sock *, int)' }]],
    kprobe: [{ program: 'k_tcp_cleanup_rbuf', target: 'tcp_cleanup_rbuf' }],
  },
  {
    name: 'udp send',
    fentry: [
      [
        { program: 'f_udp_sendmsg', target: 'udp_sendmsg', proto: UDP_SENDMSG },
        { program: 'f_udpv6_sendmsg', target: 'udpv6_sendmsg', proto: UDP_SENDMSG },
      ],
    ],
    kprobe: [
      { program: 'k_udp_sendmsg', target: 'udp_sendmsg' },
      { program: 'k_udpv6_sendmsg', target: 'udpv6_sendmsg' },
      { program: 'k_udp_send_skb', target: 'udp_send_skb' },
      { program: 'k_udp_v6_send_skb', target: 'udp_v6_send_skb' },
    ],
  },
  {
    name: 'udp receive',
    fentry: [[{ program: 'f_skb_consume_udp', target: 'skb_consume_udp', proto: 'void (struct sock *, struct sk_buff *, int)' }]],
    kprobe: [{ program: 'k_skb_consume_udp', target: 'skb_consume_udp' }],
  },
  {
    name: 'udp destroy',
    fentry: [
      [
        { program: 'f_udp_destroy_sock', target: 'udp_destroy_sock', proto: 'void (struct sock *)' },
        { program: 'f_udpv6_destroy_sock', target: 'udpv6_destroy_sock', proto: 'void (struct sock *)' },
      ],
    ],
    kprobe: [
      { program: 'k_udp_destroy_sock', target: 'udp_destroy_sock' },
      { program: 'k_udpv6_destroy_sock', target: 'udpv6_destroy_sock' },
    ],
    optional: 'connected UDP flows end by idle expiry only',
  },
  returningPair('tcp connect', ['tcp_v4_connect', 'tcp_v6_connect'], SOCK_ADDR_INT, 'an outgoing connection has its tuple from its first event after connect()'),
  {
    name: 'tcp accept',
    fentry: [
      [{ program: 'f_accept4', target: 'inet_csk_accept', proto: 'struct sock * (struct sock *, int, int *, bool)' }],
      [{ program: 'f_accept2', target: 'inet_csk_accept', proto: 'struct sock * (struct sock *, struct proto_accept_arg *)' }],
    ],
    // accept blocks: no kretprobe; the accepted socket is grafted in the accepting process.
    kprobe: [{ program: 'k_sock_graft', target: 'security_sock_graft' }],
    optional: 'an accepted connection is charged to its process from its first send or receive',
  },
  returningPair('udp bind', ['inet_bind', 'inet6_bind'], SOCKET_ADDR_INT, 'UDP flows take their direction from their first datagram'),
];

export interface Backend {
  name: BackendName;
  /** One line for `tracer.info`. */
  describe: string;
  /** Programs for TCP lifecycle, retransmits and close (tracepoints every kernel of the matrix has). */
  lifecycle: readonly string[];
  /** Per-call programs where the kernel has sock_send_length / sock_recv_length (6.3+); tracepoint backends. */
  perCall: readonly string[];
  /** Without them (before 6.3): TCP receives at tcp_rcv_space_adjust, sends at tcp_probe; no UDP. Tracepoint backends. */
  legacy: readonly string[];
  /** Function hooks (FUNCTION_HOOKS) and how they run: every kernel gets bytes per call, UDP peers from the kernel's own copies. */
  hooks: HookKind | undefined;
  /** Programs get BTF-typed socket pointers: socket cookies (5.12+), direct loads. */
  btfTyped: boolean;
  /** What the kernel must allow. */
  needs: { tpBtf: boolean; tracefs: boolean; fentry: boolean; kprobes: boolean };
}

const BTF_LIFECYCLE = ['btf_state', 'btf_destroy', 'btf_retransmit'];
const TP_LIFECYCLE = ['tp_state', 'tp_destroy', 'tp_retransmit'];

export const BACKENDS: readonly Backend[] = [
  {
    name: 'fentry',
    describe: 'fentry/fexit on the socket functions (kprobes where a prototype matches no variant), lifecycle on tp_btf',
    lifecycle: BTF_LIFECYCLE,
    perCall: [],
    legacy: [],
    hooks: 'fentry',
    btfTyped: true,
    needs: { tpBtf: true, tracefs: false, fentry: true, kprobes: false },
  },
  {
    name: 'kprobe',
    describe: 'kprobes on the socket functions (kretprobes only where a call never blocks), lifecycle on classic tracepoints',
    lifecycle: TP_LIFECYCLE,
    perCall: [],
    legacy: [],
    hooks: 'kprobe',
    btfTyped: false,
    needs: { tpBtf: false, tracefs: true, fentry: false, kprobes: true },
  },
  {
    name: 'tp_btf',
    describe: 'BTF-typed tracepoints (tp_btf): typed arguments, no trace record built',
    lifecycle: BTF_LIFECYCLE,
    perCall: ['btf_send_length', 'btf_recv_length'],
    legacy: ['btf_rcv_space_adjust', 'btf_probe'],
    hooks: undefined,
    btfTyped: true,
    needs: { tpBtf: true, tracefs: false, fentry: false, kprobes: false },
  },
  {
    name: 'tracepoint',
    describe: 'classic tracepoints, record field offsets read from tracefs format',
    lifecycle: TP_LIFECYCLE,
    perCall: ['tp_send_length', 'tp_recv_length'],
    legacy: ['tp_rcv_space_adjust', 'tp_probe'],
    hooks: undefined,
    btfTyped: false,
    needs: { tpBtf: false, tracefs: true, fentry: false, kprobes: false },
  },
];

/** Syscall tracepoints that give the peers of unconnected UDP sockets (tracepoint backends). */
export const UDP_PEER_PROGRAMS: readonly string[] = ['sendto', 'sendmsg', 'sendmmsg', 'recvfrom', 'recvmsg', 'recvmmsg'].flatMap(
  (s) => [`sys_enter_${s}`, `sys_exit_${s}`],
);

export function backendByName(name: BackendName): Backend {
  const b = BACKENDS.find((x) => x.name === name);
  if (!b) throw new Error(`unknown backend ${name}`);
  return b;
}
