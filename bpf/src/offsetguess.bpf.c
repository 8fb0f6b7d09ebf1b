// SPDX-License-Identifier: GPL-2.0
/* The offset guesser's capture programs (@tracer-bpf/offsetguess). For
 * kernels without readable BTF, so without tp_btf and fentry: classic
 * tracepoints (record offsets from tracefs `format`, as globals) and kprobes
 * only. No kernel struct is declared: each program copies raw bytes of the
 * objects it is handed into one map value, and userspace searches them.
 *
 * Only the guesser's own thread is captured: bpf_get_ns_current_pid_tgid()
 * in the guesser's pid namespace (dev/ino as globals) must give the thread
 * id armed in the mailbox. Userspace arms, makes one synchronous call on a
 * socket of its own, and reads the capture; the first hit disarms.
 *
 *   tcp:tcp_rcv_space_adjust   a TCP socket at a read (a MSG_PEEK recv)   GUESS_SOCK
 *   sock:sock_send_length      any socket at a send (6.3+)                GUESS_SOCK
 *   kprobe udp_sendmsg         a UDP socket and the send's msghdr         GUESS_MSGHDR
 *   kprobe skb_consume_udp     a UDP socket and the datagram's sk_buff    GUESS_SKB
 *   kprobe inet_getname        a struct socket at getsockname             GUESS_SOCKET
 */
#include <linux/bpf.h>
#include <linux/types.h>
#include <asm/ptrace.h> /* struct pt_regs for kprobe arguments */
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "../include/tracer_bpf/abi.h"

/* The guesser's pid namespace (st_dev / st_ino of /proc/self/ns/pid). */
const volatile __u64 pidns_dev = 0;
const volatile __u64 pidns_ino = 0;
/* Record offsets of the classic tracepoints' socket pointers, from tracefs. */
const volatile __u32 tp_rcv_space_skaddr = 0;
const volatile __u32 tp_send_length_sk = 0;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct guess_mailbox);
} guess_mailbox SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct guess_capture);
} guess_capture SEC(".maps");

static __always_inline void capture(const void *sk, const void *arg, __u32 what)
{
	__u32 zero = 0;
	struct guess_mailbox *m = bpf_map_lookup_elem(&guess_mailbox, &zero);
	if (!m || !m->tid || !(m->what & what))
		return;
	struct bpf_pidns_info ns = {};
	if (bpf_get_ns_current_pid_tgid(pidns_dev, pidns_ino, &ns, sizeof(ns)) || ns.pid != m->tid)
		return;
	struct guess_capture *c = bpf_map_lookup_elem(&guess_capture, &zero);
	if (!c)
		return;
	/* One hit per arming: the guesser's thread makes one call at a time. */
	m->what = 0;
	c->seq = m->seq;
	c->what = what;
	c->sk = (__u64)sk;
	c->arg = (__u64)arg;
	c->sk_faults = 0;
	c->arg_fault = 0;
	c->deref_faults = 0;
	if (sk) {
#pragma unroll
		for (int i = 0; i < GUESS_SK_BYTES / GUESS_CHUNK; i++) {
			if (bpf_probe_read_kernel(c->sk_bytes + i * GUESS_CHUNK, GUESS_CHUNK, sk + i * GUESS_CHUNK))
				c->sk_faults |= 1U << i;
		}
	} else {
		c->sk_faults = ~0U;
	}
	if (arg) {
		/* A msghdr lies on the kernel stack: 512 bytes from it can run past
		 * the stack's end; its first 128 bytes cannot. */
		if (bpf_probe_read_kernel(c->arg_bytes, GUESS_ARG_BYTES, arg) && bpf_probe_read_kernel(c->arg_bytes, 128, arg))
			c->arg_fault = 1;
	} else {
		c->arg_fault = 1;
	}
#pragma unroll
	for (int i = 0; i < GUESS_DEREFS; i++) {
		struct guess_deref *d = &m->deref[i];
		if (!(d->flags & GUESS_DEREF_ON))
			continue;
		const void *base = (d->flags & GUESS_DEREF_FROM_ARG) ? arg : sk;
		__u32 len = d->len;
		if (len == 0 || len > GUESS_DEREF_BYTES)
			len = GUESS_DEREF_BYTES;
		__u64 p = 0;
		if (!base || bpf_probe_read_kernel(&p, sizeof(p), base + (d->ptr_off & 0xffff)) || !p ||
		    bpf_probe_read_kernel(c->deref + i * GUESS_DEREF_BYTES, len, (const void *)(p + (d->add & 0xffff))))
			c->deref_faults |= 1U << i;
	}
}

static __always_inline const void *tp_ptr(void *ctx, __u32 off)
{
	__u64 p = 0;
	bpf_probe_read_kernel(&p, sizeof(p), ctx + off);
	return (const void *)p;
}

SEC("?tracepoint/tcp/tcp_rcv_space_adjust")
int guess_tcp_rcv(void *ctx)
{
	capture(tp_ptr(ctx, tp_rcv_space_skaddr), 0, GUESS_SOCK);
	return 0;
}

SEC("?tracepoint/sock/sock_send_length")
int guess_sock_send(void *ctx)
{
	capture(tp_ptr(ctx, tp_send_length_sk), 0, GUESS_SOCK);
	return 0;
}

/* The same hooks as raw tracepoints (4.17+, no BTF needed): the socket is
 * the first argument, no record layout is involved, and detaching one does
 * not wait for an RCU grace period as a perf-event tracepoint does. */
SEC("?raw_tracepoint/tcp_rcv_space_adjust")
int guess_raw_tcp_rcv(struct bpf_raw_tracepoint_args *ctx)
{
	capture((const void *)ctx->args[0], 0, GUESS_SOCK);
	return 0;
}

SEC("?raw_tracepoint/sock_send_length")
int guess_raw_sock_send(struct bpf_raw_tracepoint_args *ctx)
{
	capture((const void *)ctx->args[0], 0, GUESS_SOCK);
	return 0;
}

SEC("?kprobe/udp_sendmsg")
int BPF_KPROBE(guess_udp_sendmsg, const void *sk, const void *msg)
{
	capture(sk, msg, GUESS_MSGHDR);
	return 0;
}

SEC("?kprobe/skb_consume_udp")
int BPF_KPROBE(guess_skb_consume_udp, const void *sk, const void *skb)
{
	capture(sk, skb, GUESS_SKB);
	return 0;
}

SEC("?kprobe/inet_getname")
int BPF_KPROBE(guess_inet_getname, const void *sock)
{
	capture(0, sock, GUESS_SOCKET);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
