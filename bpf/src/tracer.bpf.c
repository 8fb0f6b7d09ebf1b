// SPDX-License-Identifier: GPL-2.0
/* The connection tracer: every TCP and UDP connection with its traffic,
 * counted in maps that userspace polls, and a close record per connection.
 *
 * All programs are optional (SEC("?...")): userspace loads the set of one
 * backend (packages/tracer, src/backends.ts):
 *   tp_btf      btf_*   BTF-typed tracepoints (no record layout involved)
 *   tracepoint  tp_*    classic tracepoints, record offsets from tracefs
 *   fentry      f_*     fentry/fexit on the send, receive, connect, accept,
 *                       bind and UDP destroy functions (tracer_calls.h),
 *                       lifecycle on tp_btf; one fexit variant per known
 *                       prototype where the return value's slot moves
 *   kprobe      k_*     kprobes on the same functions (kretprobes only on
 *                       functions that never block), lifecycle on classic
 *                       tracepoints
 *   syscalls    sys_*   unconnected UDP peers (tracepoint backends, optional)
 * The accounting itself is in tracer_core.h; kernel struct offsets are
 * globals (tracer_kernel.h). */
#include <linux/bpf.h>
#include <asm/ptrace.h> /* struct pt_regs (uapi layout = the kernel's) for kprobe arguments */
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "tracer_core.h"
#include "tracer_calls.h"

struct sock;
struct sk_buff;
struct msghdr;
struct socket;

/* --------------------------------------------------------------- tp_btf */

SEC("?tp_btf/inet_sock_set_state")
int BPF_PROG(btf_state, struct sock *sk, int oldstate, int newstate)
{
	if (offsets_ready && is_tcp_inet(sk))
		tcp_on_state(ctx, sk, oldstate, newstate, 1);
	return 0;
}

SEC("?tp_btf/tcp_destroy_sock")
int BPF_PROG(btf_destroy, struct sock *sk)
{
	if (offsets_ready && is_tcp_inet(sk))
		tcp_on_destroy(ctx, sk, 1);
	return 0;
}

SEC("?tp_btf/tcp_retransmit_skb")
int BPF_PROG(btf_retransmit, struct sock *sk)
{
	struct sock_state *st;
	if (offsets_ready && is_tcp_inet(sk) && (st = tcp_state_get(sk)))
		tcp_stats_update(sk, st);
	return 0;
}

SEC("?tp_btf/sock_send_length")
int BPF_PROG(btf_send_length, struct sock *sk, int ret, int flags)
{
	on_io(sk, ret, flags, 1, 1);
	return 0;
}

SEC("?tp_btf/sock_recv_length")
int BPF_PROG(btf_recv_length, struct sock *sk, int ret, int flags)
{
	on_io(sk, ret, flags, 0, 1);
	return 0;
}

/* Kernels without sock_*_length (before 6.3): TCP counters advance at
 * tcp_rcv_space_adjust (called by every read, in the reader's context: both
 * directions) and at tcp_probe (every incoming segment, e.g. the ACK of sent
 * data; its classic record has the socket only on newer kernels). */
SEC("?tp_btf/tcp_rcv_space_adjust")
int BPF_PROG(btf_rcv_space_adjust, struct sock *sk)
{
	struct sock_state *st;
	int created = 0;
	if (offsets_ready && is_tcp_inet(sk) && (st = tcp_state_seen(sk, 1, &created)))
		tcp_refresh(sk, st, DIR_SEND | DIR_RECV, current_tgid(), 1);
	return 0;
}

SEC("?tp_btf/tcp_probe")
int BPF_PROG(btf_probe, struct sock *sk)
{
	struct sock_state *st;
	int created = 0;
	if (offsets_ready && is_tcp_inet(sk) && (st = tcp_state_seen(sk, 1, &created)))
		tcp_refresh(sk, st, DIR_SEND, 0, 1);
	return 0;
}

/* ---------------------------------------------------- classic tracepoints */
/* Field offsets of each record, from tracefs `format` (never declared here:
 * a record's layout differs between builds, e.g. PREEMPT_RT). */
const volatile __u32 tp_state_skaddr = 0;
const volatile __u32 tp_state_oldstate = 0;
const volatile __u32 tp_state_newstate = 0;
const volatile __u32 tp_destroy_skaddr = 0;
const volatile __u32 tp_retransmit_skaddr = 0;
const volatile __u32 tp_send_sk = 0;
const volatile __u32 tp_send_ret = 0;
const volatile __u32 tp_recv_sk = 0;
const volatile __u32 tp_recv_ret = 0;
const volatile __u32 tp_recv_flags = 0;
const volatile __u32 tp_rcv_space_adjust_skaddr = 0;
const volatile __u32 tp_probe_skaddr = 0;

static __always_inline const void *tp_ptr(void *ctx, __u32 off)
{
	__u64 p = 0;
	bpf_probe_read_kernel(&p, sizeof(p), ctx + off);
	return (const void *)p;
}

static __always_inline int tp_int(void *ctx, __u32 off)
{
	int v = 0;
	bpf_probe_read_kernel(&v, sizeof(v), ctx + off);
	return v;
}

SEC("?tracepoint/sock/inet_sock_set_state")
int tp_state(void *ctx)
{
	const void *sk = tp_ptr(ctx, tp_state_skaddr);
	if (offsets_ready && sk && is_tcp_inet(sk))
		tcp_on_state(ctx, sk, tp_int(ctx, tp_state_oldstate), tp_int(ctx, tp_state_newstate), 0);
	return 0;
}

SEC("?tracepoint/tcp/tcp_destroy_sock")
int tp_destroy(void *ctx)
{
	const void *sk = tp_ptr(ctx, tp_destroy_skaddr);
	if (offsets_ready && sk && is_tcp_inet(sk))
		tcp_on_destroy(ctx, sk, 0);
	return 0;
}

SEC("?tracepoint/tcp/tcp_retransmit_skb")
int tp_retransmit(void *ctx)
{
	const void *sk = tp_ptr(ctx, tp_retransmit_skaddr);
	struct sock_state *st;
	if (offsets_ready && sk && is_tcp_inet(sk) && (st = tcp_state_get(sk)))
		tcp_stats_update(sk, st);
	return 0;
}

SEC("?tracepoint/sock/sock_send_length")
int tp_send_length(void *ctx)
{
	on_io(tp_ptr(ctx, tp_send_sk), tp_int(ctx, tp_send_ret), 0, 1, 0);
	return 0;
}

SEC("?tracepoint/sock/sock_recv_length")
int tp_recv_length(void *ctx)
{
	on_io(tp_ptr(ctx, tp_recv_sk), tp_int(ctx, tp_recv_ret), tp_int(ctx, tp_recv_flags), 0, 0);
	return 0;
}

SEC("?tracepoint/tcp/tcp_rcv_space_adjust")
int tp_rcv_space_adjust(void *ctx)
{
	const void *sk = tp_ptr(ctx, tp_rcv_space_adjust_skaddr);
	struct sock_state *st;
	int created = 0;
	if (offsets_ready && sk && is_tcp_inet(sk) && (st = tcp_state_seen(sk, 0, &created)))
		tcp_refresh(sk, st, DIR_SEND | DIR_RECV, current_tgid(), 0);
	return 0;
}

SEC("?tracepoint/tcp/tcp_probe")
int tp_probe(void *ctx)
{
	const void *sk = tp_ptr(ctx, tp_probe_skaddr);
	struct sock_state *st;
	int created = 0;
	if (offsets_ready && sk && is_tcp_inet(sk) && (st = tcp_state_seen(sk, 0, &created)))
		tcp_refresh(sk, st, DIR_SEND, 0, 0);
	return 0;
}

/* ------------------------------------------------------------ fentry/fexit */
/* Each program's prototype is checked against the kernel's BTF before load
 * (packages/tracer, src/backends.ts); a hook whose prototype matches no
 * variant runs as a kprobe instead. */

SEC("?fentry/tcp_push")
int BPF_PROG(f_tcp_push, struct sock *sk)
{
	call_tcp_io(sk, 1, COPIED_UNKNOWN, 1);
	return 0;
}

SEC("?fentry/tcp_cleanup_rbuf")
int BPF_PROG(f_tcp_cleanup_rbuf, struct sock *sk, int copied)
{
	call_tcp_io(sk, 0, copied, 1);
	return 0;
}

/* udpv6_sendmsg calls udp_sendmsg for a v4-mapped peer: counted there. */
SEC("?fexit/udp_sendmsg")
int BPF_PROG(f_udp_sendmsg, struct sock *sk, struct msghdr *msg, __u64 len, int ret)
{
	if (offsets_ready && sk && sk_family(sk, 1) == AF_INET)
		call_udp_send(sk, msg_name(msg), ret, 1);
	return 0;
}

SEC("?fexit/udpv6_sendmsg")
int BPF_PROG(f_udpv6_sendmsg, struct sock *sk, struct msghdr *msg, __u64 len, int ret)
{
	call_udp_send(sk, msg_name(msg), ret, 1);
	return 0;
}

SEC("?fentry/skb_consume_udp")
int BPF_PROG(f_skb_consume_udp, struct sock *sk, struct sk_buff *skb, int len)
{
	call_udp_recv(sk, skb, len, 1);
	return 0;
}

SEC("?fentry/udp_destroy_sock")
int BPF_PROG(f_udp_destroy_sock, struct sock *sk)
{
	call_udp_destroy(ctx, sk, 1);
	return 0;
}

SEC("?fentry/udpv6_destroy_sock")
int BPF_PROG(f_udpv6_destroy_sock, struct sock *sk)
{
	call_udp_destroy(ctx, sk, 1);
	return 0;
}

SEC("?fexit/tcp_v4_connect")
int BPF_PROG(f_tcp_v4_connect, struct sock *sk, void *uaddr, int addr_len, int ret)
{
	call_tcp_connected(sk, ret, 1);
	return 0;
}

SEC("?fexit/tcp_v6_connect")
int BPF_PROG(f_tcp_v6_connect, struct sock *sk, void *uaddr, int addr_len, int ret)
{
	call_tcp_connected(sk, ret, 1);
	return 0;
}

/* inet_csk_accept: (sk, flags, err, kern) before 6.10, (sk, arg) since. */
SEC("?fexit/inet_csk_accept")
int BPF_PROG(f_accept4, struct sock *sk, int flags, int *err, long kern, struct sock *newsk)
{
	call_tcp_accepted(newsk);
	return 0;
}

SEC("?fexit/inet_csk_accept")
int BPF_PROG(f_accept2, struct sock *sk, void *arg, struct sock *newsk)
{
	call_tcp_accepted(newsk);
	return 0;
}

SEC("?fexit/inet_bind")
int BPF_PROG(f_inet_bind, struct socket *sock, void *uaddr, int addr_len, int ret)
{
	call_bind(sock, (__u64)uaddr, ret);
	return 0;
}

SEC("?fexit/inet6_bind")
int BPF_PROG(f_inet6_bind, struct socket *sock, void *uaddr, int addr_len, int ret)
{
	call_bind(sock, (__u64)uaddr, ret);
	return 0;
}

/* ----------------------------------------------------------------- kprobes */
/* No kretprobe on a function that can block (send, receive, accept: a
 * blocked call holds a return instance, and misses follow): their entry and
 * a hook that follows on the same thread instead. */

SEC("?kprobe/tcp_push")
int BPF_KPROBE(k_tcp_push, struct sock *sk)
{
	call_tcp_io(sk, 1, COPIED_UNKNOWN, 0);
	return 0;
}

SEC("?kprobe/tcp_cleanup_rbuf")
int BPF_KPROBE(k_tcp_cleanup_rbuf, struct sock *sk, int copied)
{
	call_tcp_io(sk, 0, copied, 0);
	return 0;
}

/* The send's entry notes the socket, its msg_name and length; the datagram
 * is counted when its skb is sent (a failed call sends none). udpv6_sendmsg
 * and the udp_sendmsg it calls for a v4-mapped peer note the same call. */
SEC("?kprobe/udp_sendmsg")
int BPF_KPROBE(k_udp_sendmsg, struct sock *sk, struct msghdr *msg, __u64 len)
{
	call_note(CALL_UDP_SEND, sk, msg_name(msg), len);
	return 0;
}

SEC("?kprobe/udpv6_sendmsg")
int BPF_KPROBE(k_udpv6_sendmsg, struct sock *sk, struct msghdr *msg, __u64 len)
{
	call_note(CALL_UDP_SEND, sk, msg_name(msg), len);
	return 0;
}

static __always_inline void k_udp_sent(void)
{
	struct call_args a;
	if (call_take(CALL_UDP_SEND, &a) == 0)
		call_udp_send((const void *)a.sk, a.addr, a.len, 0);
}

SEC("?kprobe/udp_send_skb")
int BPF_KPROBE(k_udp_send_skb)
{
	k_udp_sent();
	return 0;
}

SEC("?kprobe/udp_v6_send_skb")
int BPF_KPROBE(k_udp_v6_send_skb)
{
	k_udp_sent();
	return 0;
}

SEC("?kprobe/skb_consume_udp")
int BPF_KPROBE(k_skb_consume_udp, struct sock *sk, struct sk_buff *skb, int len)
{
	call_udp_recv(sk, skb, len, 0);
	return 0;
}

SEC("?kprobe/udp_destroy_sock")
int BPF_KPROBE(k_udp_destroy_sock, struct sock *sk)
{
	call_udp_destroy(ctx, sk, 0);
	return 0;
}

SEC("?kprobe/udpv6_destroy_sock")
int BPF_KPROBE(k_udpv6_destroy_sock, struct sock *sk)
{
	call_udp_destroy(ctx, sk, 0);
	return 0;
}

/* connect and bind never block: entry + kretprobe (maxActive set by userspace). */
SEC("?kprobe/tcp_v4_connect")
int BPF_KPROBE(k_tcp_v4_connect, struct sock *sk)
{
	call_note(CALL_CONNECT, sk, 0, 0);
	return 0;
}

SEC("?kprobe/tcp_v6_connect")
int BPF_KPROBE(k_tcp_v6_connect, struct sock *sk)
{
	call_note(CALL_CONNECT, sk, 0, 0);
	return 0;
}

/* tcp_v6_connect's nested tcp_v4_connect returns first and takes the note:
 * the outer return finds none. */
static __always_inline void k_connect_returned(long ret)
{
	struct call_args a;
	if (call_take(CALL_CONNECT, &a) == 0)
		call_tcp_connected((const void *)a.sk, ret, 0);
}

SEC("?kretprobe/tcp_v4_connect")
int BPF_KRETPROBE(kr_tcp_v4_connect, int ret)
{
	k_connect_returned(ret);
	return 0;
}

SEC("?kretprobe/tcp_v6_connect")
int BPF_KRETPROBE(kr_tcp_v6_connect, int ret)
{
	k_connect_returned(ret);
	return 0;
}

/* accept blocks: the accepted socket is grafted onto the acceptor's socket
 * (sock_graft -> security_sock_graft) in the accepting process, after
 * inet_csk_accept returned it. */
SEC("?kprobe/security_sock_graft")
int BPF_KPROBE(k_sock_graft, struct sock *sk)
{
	call_tcp_accepted(sk);
	return 0;
}

SEC("?kprobe/inet_bind")
int BPF_KPROBE(k_inet_bind, struct socket *sock, void *uaddr)
{
	call_note(CALL_BIND, sock, (__u64)uaddr, 0);
	return 0;
}

SEC("?kprobe/inet6_bind")
int BPF_KPROBE(k_inet6_bind, struct socket *sock, void *uaddr)
{
	call_note(CALL_BIND, sock, (__u64)uaddr, 0);
	return 0;
}

static __always_inline void k_bind_returned(long ret)
{
	struct call_args a;
	if (call_take(CALL_BIND, &a) == 0)
		call_bind((const void *)a.sk, a.addr, ret);
}

SEC("?kretprobe/inet_bind")
int BPF_KRETPROBE(kr_inet_bind, int ret)
{
	k_bind_returned(ret);
	return 0;
}

SEC("?kretprobe/inet6_bind")
int BPF_KRETPROBE(kr_inet6_bind, int ret)
{
	k_bind_returned(ret);
	return 0;
}

/* ---------------------------------------------- syscalls (UDP peer addresses) */
/* sys_enter_*: the syscall's arguments are 8-byte slots from tp_sys_args;
 * sys_exit_*: the return value at tp_sys_ret. */
const volatile __u32 tp_sys_args = 0;
const volatile __u32 tp_sys_ret = 0;

static __always_inline __u64 sys_arg(void *ctx, __u32 n)
{
	__u64 v = 0;
	bpf_probe_read_kernel(&v, sizeof(v), ctx + tp_sys_args + n * 8);
	return v;
}

static __always_inline void udp_call_begin(__u32 kind, __u64 uptr)
{
	if (!uptr)
		return;
	__u64 id = bpf_get_current_pid_tgid();
	struct udp_call c = {};
	c.kind = kind;
	c.uptr = uptr;
	bpf_map_update_elem(&udp_calls, &id, &c, BPF_ANY);
}

static __always_inline void udp_call_end(void)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct udp_call *c = bpf_map_lookup_elem(&udp_calls, &id);
	if (!c)
		return;
	if (c->pending_sk)
		udp_finish_recv(c);
	bpf_map_delete_elem(&udp_calls, &id);
}

SEC("?tracepoint/syscalls/sys_enter_sendto")
int sys_enter_sendto(void *ctx)
{
	udp_call_begin(UDP_CALL_SENDTO, sys_arg(ctx, 4)); /* fd, buff, len, flags, addr, addr_len */
	return 0;
}

SEC("?tracepoint/syscalls/sys_enter_sendmsg")
int sys_enter_sendmsg(void *ctx)
{
	udp_call_begin(UDP_CALL_SENDMSG, sys_arg(ctx, 1)); /* fd, msg, flags */
	return 0;
}

SEC("?tracepoint/syscalls/sys_enter_sendmmsg")
int sys_enter_sendmmsg(void *ctx)
{
	udp_call_begin(UDP_CALL_SENDMMSG, sys_arg(ctx, 1)); /* fd, mmsg, vlen, flags */
	return 0;
}

SEC("?tracepoint/syscalls/sys_enter_recvfrom")
int sys_enter_recvfrom(void *ctx)
{
	udp_call_begin(UDP_CALL_RECVFROM, sys_arg(ctx, 4)); /* fd, ubuf, size, flags, addr, addr_len */
	return 0;
}

SEC("?tracepoint/syscalls/sys_enter_recvmsg")
int sys_enter_recvmsg(void *ctx)
{
	udp_call_begin(UDP_CALL_RECVMSG, sys_arg(ctx, 1));
	return 0;
}

SEC("?tracepoint/syscalls/sys_enter_recvmmsg")
int sys_enter_recvmmsg(void *ctx)
{
	udp_call_begin(UDP_CALL_RECVMMSG, sys_arg(ctx, 1));
	return 0;
}

#define SYS_EXIT(name)                 \
	SEC("?tracepoint/syscalls/sys_exit_" #name) \
	int sys_exit_##name(void *ctx) \
	{                              \
		udp_call_end();        \
		return 0;              \
	}

SYS_EXIT(sendto)
SYS_EXIT(sendmsg)
SYS_EXIT(sendmmsg)
SYS_EXIT(recvfrom)
SYS_EXIT(recvmsg)
SYS_EXIT(recvmmsg)

char LICENSE[] SEC("license") = "GPL";
