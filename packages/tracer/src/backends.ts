// The one table of backends: which programs of bpf/src/tracer.bpf.c each
// loads, and what it needs from the kernel. `auto` takes the first row whose
// needs hold; any row can be forced (so fallbacks are tested on kernels that
// have the preferred path). kprobe and fentry rows arrive with their issue.

export type BackendName = 'tp_btf' | 'tracepoint';

export interface Backend {
  name: BackendName;
  /** One line for `tracer.info`. */
  describe: string;
  /** Programs for TCP lifecycle, retransmits and close (every kernel of the matrix). */
  lifecycle: readonly string[];
  /** Per-call programs where the kernel has sock_send_length / sock_recv_length (6.3+). */
  perCall: readonly string[];
  /** Without them (before 6.3): TCP receives at tcp_rcv_space_adjust, sends at tcp_probe; no UDP. */
  legacy: readonly string[];
  /** Programs get BTF-typed socket pointers: socket cookies (5.12+) and socket-local storage (5.11+) are possible. */
  btfTyped: boolean;
  /** What the kernel must allow. */
  needs: { tpBtf: boolean; tracefs: boolean };
}

export const BACKENDS: readonly Backend[] = [
  {
    name: 'tp_btf',
    describe: 'BTF-typed tracepoints (tp_btf): typed arguments, no trace record built',
    lifecycle: ['btf_state', 'btf_destroy', 'btf_retransmit'],
    perCall: ['btf_send_length', 'btf_recv_length'],
    legacy: ['btf_rcv_space_adjust', 'btf_probe'],
    btfTyped: true,
    needs: { tpBtf: true, tracefs: false },
  },
  {
    name: 'tracepoint',
    describe: 'classic tracepoints, record field offsets read from tracefs format',
    lifecycle: ['tp_state', 'tp_destroy', 'tp_retransmit'],
    perCall: ['tp_send_length', 'tp_recv_length'],
    legacy: ['tp_rcv_space_adjust', 'tp_probe'],
    btfTyped: false,
    needs: { tpBtf: false, tracefs: true },
  },
];

/** Syscall tracepoints that give the peers of unconnected UDP sockets (either backend). */
export const UDP_PEER_PROGRAMS: readonly string[] = ['sendto', 'sendmsg', 'sendmmsg', 'recvfrom', 'recvmsg', 'recvmmsg'].flatMap(
  (s) => [`sys_enter_${s}`, `sys_exit_${s}`],
);

export function backendByName(name: BackendName): Backend {
  const b = BACKENDS.find((x) => x.name === name);
  if (!b) throw new Error(`unknown backend ${name}`);
  return b;
}
