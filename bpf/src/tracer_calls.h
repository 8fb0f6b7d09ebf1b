/* SPDX-License-Identifier: GPL-2.0 */
/* Function hooks of the kprobe and fentry backends: what each kernel
 * function call means for the accounting core. The programs themselves
 * (tracer.bpf.c) only take the arguments, as a kprobe (plain addresses,
 * probe reads: `btf` 0) or as fentry/fexit (BTF-typed pointers: `btf` 1).
 *
 *   tcp_push (end of tcp_sendmsg and of the sendpage path before 6.5)
 *                          TCP bytes sent by this call: counters now
 *   tcp_cleanup_rbuf       TCP bytes consumed by this call (recvmsg, splice)
 *   udp_sendmsg / udpv6_sendmsg (fexit: its return; kprobe: the entry, then
 *                          udp_send_skb / udp_v6_send_skb)
 *                          one datagram, the peer from msg_name
 *   skb_consume_udp        one datagram read, the peer from the skb
 *   udp_destroy_sock / udpv6_destroy_sock
 *                          a connected UDP socket's flow ends
 *   tcp_v4_connect / tcp_v6_connect (return)
 *                          the tuple is complete, the connecting process
 *   inet_csk_accept (fexit) / security_sock_graft (kprobe)
 *                          the accepting process of a child socket
 *   inet_bind / inet6_bind (return)
 *                          a UDP port bound by a server
 * Nested calls count once: udpv6_sendmsg calls udp_sendmsg for a v4-mapped
 * peer (the v4 hook skips IPv6 sockets; the kprobe path counts at the send
 * of the skb), tcp_v6_connect calls tcp_v4_connect (connect only completes
 * the tuple and notes the process, which is idempotent). */
#ifndef TRACER_BPF_CALLS_H
#define TRACER_BPF_CALLS_H

#include "tracer_core.h"

/* struct sk_buff: head (unsigned char *), network_header and transport_header (u16 offsets from head) */
const volatile __u32 off_skb_head = 0;
const volatile __u32 off_skb_network_header = 0;
const volatile __u32 off_skb_transport_header = 0;
/* struct socket: sk */
const volatile __u32 off_socket_sk = 0;
/* struct msghdr: msg_name (the kernel's copy of the user's sockaddr, or NULL) */
const volatile __u32 off_msghdr_name = 0;

/* TCP data queued (is_send) or consumed by the current process: counters
 * now. `copied`: this call's bytes where the hook knows them. */
static __always_inline void call_tcp_io(const void *sk, int is_send, int copied, int btf)
{
	if (offsets_ready && sk && sk_inet_protocol(sk, btf) == IPPROTO_TCP)
		tcp_on_call(sk, is_send, copied, btf);
}

/* The tuple of a UDP socket, or non-zero if sk is not an inet UDP socket. */
static __always_inline int udp_sock_tuple(const void *sk, struct conn_tuple *t, int btf)
{
	struct sk_view v;
	if (sk_inet_view(sk, &v, btf) != IPPROTO_UDP)
		return -1;
	return tuple_from_view(&v, t, CONN_TYPE_UDP, v.num, btf && direct_loads);
}

/* One datagram of `bytes` sent; `name`: the kernel's copy of the sockaddr
 * given to the call (the peer of an unconnected socket), or 0. */
static __always_inline void call_udp_send(const void *sk, __u64 name, long bytes, int btf)
{
	struct conn_tuple t;
	if (!offsets_ready || !sk || bytes < 0 || udp_sock_tuple(sk, &t, btf))
		return;
	if (name) {
		if (udp_apply_sockaddr(&t, name, 1))
			TEL_INC(udp_addr_missing);
	} else if (t.dport == 0) {
		TEL_INC(udp_addr_missing);
	}
	udp_count_tuple(sk, &t, bytes, 1, btf, current_tgid());
}

/* msg->msg_name of a send call (a kernel pointer), or 0. */
static __always_inline __u64 msg_name(const void *msg)
{
	__u64 name = 0;
	if (msg)
		KREAD(name, msg, off_msghdr_name);
	return name;
}

/* The source of a received datagram from its headers: the IP version in
 * the network header's first nibble (an IPv6 socket gets IPv4 datagrams
 * too), the address there, the port at the start of the UDP header. */
static __always_inline int udp_peer_from_skb(struct conn_tuple *t, const void *skb)
{
	__u64 head = 0;
	__u16 nh = 0, th = 0;
	__u8 ver = 0;
	__be16 port = 0;
	__u32 a4 = 0;
	__u64 a6[2] = {};
	int err = 0;
	err |= KREAD(head, skb, off_skb_head);
	err |= KREAD(nh, skb, off_skb_network_header);
	err |= KREAD(th, skb, off_skb_transport_header);
	if (err || !head)
		return -1;
	err |= bpf_probe_read_kernel(&ver, 1, (const void *)(head + nh));
	err |= bpf_probe_read_kernel(&port, 2, (const void *)(head + th));
	ver >>= 4;
	if (ver == 4) {
		err |= bpf_probe_read_kernel(&a4, 4, (const void *)(head + nh + 12));
		return err ? -1 : udp_apply_peer(t, AF_INET, a4, a6, port);
	}
	if (ver == 6) {
		err |= bpf_probe_read_kernel(a6, 16, (const void *)(head + nh + 8));
		return err ? -1 : udp_apply_peer(t, AF_INET6, a4, a6, port);
	}
	return -1;
}

/* skb_consume_udp(sk, skb, len): a datagram read, `len` bytes copied out.
 * A peek passes 0 or less (peeking ? -err : copied): nothing counted, and
 * so neither is a zero-length datagram. */
static __always_inline void call_udp_recv(const void *sk, const void *skb, int len, int btf)
{
	struct conn_tuple t;
	if (!offsets_ready || !sk || len <= 0 || udp_sock_tuple(sk, &t, btf))
		return;
	if (t.dport == 0 && (!skb || udp_peer_from_skb(&t, skb)))
		TEL_INC(udp_addr_missing);
	udp_count_tuple(sk, &t, len, 0, btf, current_tgid());
}

/* A UDP socket destroyed: its bound port is released, and the flow of a
 * connected socket (its one peer) ends with a close record. An unconnected
 * socket's flows end by idle expiry (their peers are keys of the flow map,
 * not of the socket). */
static __always_inline void call_udp_destroy(void *ctx, const void *sk, int btf)
{
	struct conn_tuple t;
	if (!offsets_ready || !sk || udp_sock_tuple(sk, &t, btf))
		return;
	struct port_binding pb;
	port_binding_key(&pb, t.netns, t.sport, IPPROTO_UDP);
	bpf_map_delete_elem(&port_bindings, &pb);
	if (t.dport == 0)
		return;
	t.pid = current_tgid();
	struct conn_stats *s = bpf_map_lookup_elem(&conn_stats, &t);
	if (!s)
		return;
	struct conn rec;
	__builtin_memset(&rec, 0, sizeof(rec));
	rec.tup = t;
	rec.conn_stats = *s;
	rec.reason = CONN_CLOSE_DESTROYED;
	if (bpf_map_delete_elem(&conn_stats, &t) == 0)
		emit_close(ctx, &rec);
}

/* tcp_v4_connect / tcp_v6_connect returned `ret`: on success the socket has
 * its source port (its tuple is complete) and the connecting process. */
static __always_inline void call_tcp_connected(const void *sk, long ret, int btf)
{
	if (ret || !offsets_ready || !sk)
		return;
	struct sock_state *st = tcp_state_get(sk);
	if (!st)
		return;
	tcp_build_tuple(sk, st);
	tcp_note_pid(st, current_tgid(), clock_now());
}

/* A child socket handed to the accepting process: charged to it from now
 * (it was pid 0's since the handshake). Only sockets we track match. */
static __always_inline void call_tcp_accepted(const void *sk)
{
	if (!offsets_ready || !sk)
		return;
	struct sock_state *st = tcp_state_get(sk);
	if (st)
		tcp_note_pid(st, current_tgid(), clock_now());
}

/* inet_bind / inet6_bind(sock, addr, len) returned `ret`: a UDP socket bound
 * to a given port serves it (its flows are incoming). Port 0 asks for an
 * ephemeral port: a client. TCP servers are known at listen(). */
static __always_inline void call_bind(const void *sock, __u64 addr, long ret)
{
	if (ret || !offsets_ready || !sock || !addr)
		return;
	__be16 port = 0;
	__u64 sk = 0;
	if (bpf_probe_read_kernel(&port, sizeof(port), (const void *)(addr + 2)) || !port)
		return;
	if (KREAD(sk, sock, off_socket_sk) || !sk)
		return;
	if (sk_inet_protocol((const void *)sk, 0) != IPPROTO_UDP)
		return;
	port_binding_set((const void *)sk, IPPROTO_UDP, 1);
}

/* kprobe entries: note the call for the hook that follows it on this thread. */
static __always_inline void call_note(__u32 kind, const void *sk, __u64 addr, __s64 len)
{
	if (!offsets_ready)
		return;
	__u64 id = bpf_get_current_pid_tgid();
	struct call_args a = {};
	a.kind = kind;
	a.sk = (__u64)sk;
	a.addr = addr;
	a.len = len;
	bpf_map_update_elem(&call_args, &id, &a, BPF_ANY);
}

/* The call noted on this thread, if of `kind`, taken out of the map into *a. */
static __always_inline int call_take(__u32 kind, struct call_args *a)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct call_args *p = bpf_map_lookup_elem(&call_args, &id);
	if (!p || p->kind != kind)
		return -1;
	*a = *p;
	bpf_map_delete_elem(&call_args, &id);
	return 0;
}

#endif
