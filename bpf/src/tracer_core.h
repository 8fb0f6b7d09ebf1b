/* SPDX-License-Identifier: GPL-2.0 */
/* The accounting core, shared by every backend: tuples, pids, per-socket
 * state, TCP counters from the kernel's own sequence counters, UDP counts,
 * and close records. Backends (tracer.bpf.c) only find the socket and the
 * event's arguments and call in here. */
#ifndef TRACER_BPF_CORE_H
#define TRACER_BPF_CORE_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "tracer_bpf/abi.h"
#include "tracer_kernel.h"
#include "tracer_maps.h"

/* Settings (globals set before load). */
const volatile __u64 pidns_dev = 0;         /* the tracer's pid namespace (stat /proc/self/ns/pid) */
const volatile __u64 pidns_ino = 0;
const volatile __u8 transport_perf = 0;     /* 0: ring buffer; 1: per-CPU batches on a perf buffer */
const volatile __u64 ring_wakeup_bytes = 0; /* wake the reader once this much is pending */
const volatile __u8 udp_syscalls = 0;       /* the syscall tracepoints give unconnected UDP peers */
/* At send/recv, tcp_stats (RTT, retransmits, segments, states) is rewritten
 * at most this often per socket; every other event rewrites it always. */
const volatile __u64 tcp_stats_interval_ns = 0;

#define DIR_SEND 1
#define DIR_RECV 2

#define TCPF(s) (1U << (s))

static __always_inline struct telemetry *tel(void)
{
	__u32 zero = 0;
	return bpf_map_lookup_elem(&telemetry, &zero);
}

#define TEL_ADD(field, n)                                   \
	do {                                                \
		struct telemetry *t_ = tel();               \
		if (t_)                                     \
			__sync_fetch_and_add(&t_->field, (n)); \
	} while (0)
#define TEL_INC(field) TEL_ADD(field, 1)

/* CLOCK_MONOTONIC ns for the hot path: the clock as read at the latest
 * jiffy an event saw, so at most a tick or two (1-10 ms) early. On the dev
 * VM (kvm-clock) bpf_ktime_get_ns() costs more than the rest of a UDP
 * send's accounting, a per-CPU map lookup half as much; jiffies and a
 * global cost nothing. CPUs race on the pair harmlessly: a stale value is
 * at most one tick older (ns is stored before jiffies), and stored
 * timestamps only move forward (stamp()). Ids (assign_id) and close
 * records read the clock itself. */
__u64 clock_jiffies = 0;
__u64 clock_ns = 0;

static __always_inline __u64 clock_now(void)
{
	__u64 j = bpf_jiffies64();
	if (j == clock_jiffies)
		return clock_ns;
	__u64 ns = bpf_ktime_get_ns();
	clock_ns = ns;
	clock_jiffies = j;
	return ns;
}

static __always_inline void stamp(struct conn_stats *s, __u64 now)
{
	if (now > s->timestamp)
		s->timestamp = now;
}

/* tgid of the current task in the tracer's pid namespace (0 if not visible there). */
static __always_inline __u32 current_tgid(void)
{
	if (pidns_dev) {
		struct bpf_pidns_info ns = {};
		if (bpf_get_ns_current_pid_tgid(pidns_dev, pidns_ino, &ns, sizeof(ns)))
			return 0;
		return ns.tgid;
	}
	return bpf_get_current_pid_tgid() >> 32;
}

/* bpf_get_socket_cookie() on a BTF socket pointer (tracing programs, 5.12+). */
const volatile __u8 have_cookie = 0;

/* The socket's cookie, or 0 (then an id is assigned). Asked only when a
 * connection is first seen (it is a helper call); `btf` is a constant at
 * every call site: 1 where sk is a BTF-typed pointer (tp_btf), 0 where it is
 * a plain address, which the helper refuses. */
static __always_inline __u64 sk_cookie(const void *sk, int btf)
{
	return btf && have_cookie ? bpf_get_socket_cookie((void *)sk) : 0;
}

/* An id for a connection without a socket cookie (bit 63 set, never a
 * cookie): the socket's address (unique among live sockets) and the time of
 * first sight in microseconds (a freed socket's address reused later gets
 * another). No shared counter: a per-CPU one is not safe where BPF programs
 * can be preempted (PREEMPT_RT), fetching atomics need 5.12, and time alone
 * repeats where the clock is coarse (seen in QEMU guests). */
static __always_inline __u64 assign_id(const void *sk, __u64 now)
{
	/* A BTF-typed socket pointer allows no arithmetic: copy its value out. */
	__u64 ptr = (__u64)sk, v = 0;
	bpf_probe_read_kernel(&v, sizeof(v), &ptr);
	return (1ULL << 63) | (((v >> 4) & 0xffffffffULL) << 31) | ((now >> 10) & 0x7fffffffULL);
}

/* ::ffff:a.b.c.d as read into two little-endian u64 halves. */
static __always_inline int is_v4mapped(__u64 h, __u64 l)
{
	return h == 0 && (l & 0xffffffffULL) == 0xffff0000ULL;
}

static __always_inline int is_unspec6(__u64 h, __u64 l)
{
	return h == 0 && l == 0;
}

static __always_inline __u32 sock_protocol(const void *sk, int *err)
{
	return read_bits(sk, bitoff_sk_protocol, bits_sk_protocol, err);
}

static __always_inline __u32 sock_netns(const void *sk, int *err)
{
	__u64 net = 0;
	__u32 inum = 0;
	*err |= KREAD(net, sk, off_skc_net);
	if (net)
		*err |= KREAD(inum, (const void *)net, off_net_ns_inum);
	return inum;
}

/* What the hot path needs of struct sock_common, read in one go when the
 * fields lie in its head (head_ok), else one by one. */
struct sk_view {
	__u64 prot;
	__u64 net;
	__u64 v6s[2];
	__u64 v6d[2];
	__u32 saddr;
	__u32 daddr;
	__u16 family;
	__u16 num;
	__be16 dport;
	__u8 state;
	__u8 _pad;
};

#define HEAD(T, b, off) (*(T *)((b) + ((off) & (SK_HEAD - 1))))

static __always_inline int sk_view_read(const void *sk, struct sk_view *v)
{
	int err = 0;
	if (head_ok) {
		/* The offsets are constants to the verifier (frozen .rodata): fixed stack reads. */
		__u8 b[SK_HEAD];
		if (bpf_probe_read_kernel(b, sizeof(b), sk)) {
			TEL_INC(read_failed);
			return -1;
		}
		v->family = HEAD(__u16, b, off_skc_family);
		v->state = HEAD(__u8, b, off_skc_state);
		v->saddr = HEAD(__u32, b, off_skc_rcv_saddr);
		v->daddr = HEAD(__u32, b, off_skc_daddr);
		v->dport = HEAD(__be16, b, off_skc_dport);
		v->num = HEAD(__u16, b, off_skc_num);
		v->prot = HEAD(__u64, b, off_skc_prot);
		v->net = HEAD(__u64, b, off_skc_net);
		v->v6s[0] = HEAD(__u64, b, off_skc_v6_rcv_saddr);
		v->v6s[1] = HEAD(__u64, b, off_skc_v6_rcv_saddr + 8);
		v->v6d[0] = HEAD(__u64, b, off_skc_v6_daddr);
		v->v6d[1] = HEAD(__u64, b, off_skc_v6_daddr + 8);
		return 0;
	}
	err |= KREAD(v->family, sk, off_skc_family);
	err |= KREAD(v->state, sk, off_skc_state);
	err |= KREAD(v->saddr, sk, off_skc_rcv_saddr);
	err |= KREAD(v->daddr, sk, off_skc_daddr);
	err |= KREAD(v->dport, sk, off_skc_dport);
	err |= KREAD(v->num, sk, off_skc_num);
	err |= KREAD(v->net, sk, off_skc_net);
	err |= bpf_probe_read_kernel(v->v6s, sizeof(v->v6s), sk + off_skc_v6_rcv_saddr);
	err |= bpf_probe_read_kernel(v->v6d, sizeof(v->v6d), sk + off_skc_v6_daddr);
	v->prot = 0;
	if (prot_tcp)
		err |= KREAD(v->prot, sk, off_skc_prot);
	if (err)
		TEL_INC(read_failed);
	return err;
}

/* The protocol a socket's skc_prot stands for (prot_tcp known): IPPROTO_TCP,
 * IPPROTO_UDP or 0 (anything else: MPTCP, UDP-Lite, raw, ...). */
static __always_inline __u32 protocol_of_prot(__u64 prot)
{
	if (prot == prot_tcp || prot == prot_tcpv6)
		return IPPROTO_TCP;
	if (prot == prot_udp || (prot_udpv6 && prot == prot_udpv6))
		return IPPROTO_UDP;
	return 0;
}

/* IPPROTO_TCP, IPPROTO_UDP or 0 (anything else: MPTCP, UDP-Lite, raw, ...). */
static __always_inline __u32 sk_view_protocol(const void *sk, struct sk_view *v)
{
	if (prot_tcp)
		return protocol_of_prot(v->prot);
	int err = 0;
	__u32 p = sock_protocol(sk, &err);
	return err ? 0 : p;
}

/* The view by direct loads (sk a BTF pointer: direct_loads). IPv6 addresses
 * as four 32-bit loads each (the verifier allows a load inside an array of
 * scalars, struct in6_addr's u6_addr32). */
static __always_inline void sk_view_direct(const void *sk, struct sk_view *v)
{
	v->family = DLOAD(__u16, sk, off_skc_family);
	v->state = DLOAD(__u8, sk, off_skc_state);
	v->saddr = DLOAD(__u32, sk, off_skc_rcv_saddr);
	v->daddr = DLOAD(__u32, sk, off_skc_daddr);
	v->dport = DLOAD(__u16, sk, off_skc_dport);
	v->num = DLOAD(__u16, sk, off_skc_num);
	v->net = (__u64)DLOAD(const void *, sk, off_skc_net);
	v->prot = 0;
	v->v6s[0] = v->v6s[1] = v->v6d[0] = v->v6d[1] = 0;
	if (v->family == AF_INET6) {
		__u32 *s6 = (__u32 *)v->v6s, *d6 = (__u32 *)v->v6d;
		s6[0] = DLOAD(__u32, sk, off_skc_v6_rcv_saddr);
		s6[1] = DLOAD(__u32, sk, off_skc_v6_rcv_saddr + 4);
		s6[2] = DLOAD(__u32, sk, off_skc_v6_rcv_saddr + 8);
		s6[3] = DLOAD(__u32, sk, off_skc_v6_rcv_saddr + 12);
		d6[0] = DLOAD(__u32, sk, off_skc_v6_daddr);
		d6[1] = DLOAD(__u32, sk, off_skc_v6_daddr + 4);
		d6[2] = DLOAD(__u32, sk, off_skc_v6_daddr + 8);
		d6[3] = DLOAD(__u32, sk, off_skc_v6_daddr + 12);
	}
}

/* IPPROTO_TCP, IPPROTO_UDP or 0, by direct loads (sk a BTF pointer): skc_prot
 * where the protocols' addresses are known, else sk_protocol, a plain u16 on
 * 5.6+ kernels (read as bits before). */
static __always_inline __u32 sk_protocol_direct(const void *sk)
{
	if (prot_tcp)
		return protocol_of_prot((__u64)DLOAD(const void *, sk, off_skc_prot));
	if (bits_sk_protocol == 16 && !(bitoff_sk_protocol & 15))
		return DLOAD(__u16, sk, bitoff_sk_protocol >> 3);
	int err = 0;
	__u32 p = sock_protocol(sk, &err);
	return err ? 0 : p;
}

/* IPPROTO_TCP / IPPROTO_UDP of an AF_INET/AF_INET6 socket, else 0; its view
 * filled (direct loads where sk is a BTF pointer and direct_loads is set). */
static __always_inline __u32 sk_inet_view(const void *sk, struct sk_view *v, int btf)
{
	if (btf && direct_loads) {
		sk_view_direct(sk, v);
		if (v->family != AF_INET && v->family != AF_INET6)
			return 0;
		return sk_protocol_direct(sk);
	}
	if (sk_view_read(sk, v) || (v->family != AF_INET && v->family != AF_INET6))
		return 0;
	return sk_view_protocol(sk, v);
}

static __always_inline __u16 sk_family(const void *sk, int btf)
{
	__u16 family = 0;
	if (btf && direct_loads)
		return DLOAD(__u16, sk, off_skc_family);
	if (KREAD(family, sk, off_skc_family))
		return 0;
	return family;
}

/* IPPROTO_TCP / IPPROTO_UDP of an inet socket, without its addresses. */
static __always_inline __u32 sk_inet_protocol(const void *sk, int btf)
{
	if (btf && direct_loads) {
		__u16 family = sk_family(sk, btf);
		if (family != AF_INET && family != AF_INET6)
			return 0;
		return sk_protocol_direct(sk);
	}
	struct sk_view v;
	return sk_inet_view(sk, &v, 0);
}

/* A tuple (pid left 0) from the view: addresses, ports, netns, type and
 * family; IPv4-mapped IPv6 is written as IPv4. `sport` is the local port in
 * host order: skc_num for UDP (the bound port), inet_sport for TCP (skc_num
 * is zeroed before the final close). `direct` (a constant): the view came
 * from direct loads, so its net is a BTF pointer. Non-zero if the family is
 * not INET or the netns read failed. */
static __always_inline int tuple_from_view(struct sk_view *v, struct conn_tuple *t, __u32 type_bit, __u16 sport, int direct)
{
	TRACER_ZERO(t);
	if (v->family == AF_INET) {
		t->saddr_l = v->saddr;
		t->daddr_l = v->daddr;
		t->metadata = type_bit | CONN_V4;
	} else if (v->family == AF_INET6) {
		__u64 *s = v->v6s, *d = v->v6d;
		int sm = is_v4mapped(s[0], s[1]), dm = is_v4mapped(d[0], d[1]);
		if ((sm || is_unspec6(s[0], s[1])) && (dm || is_unspec6(d[0], d[1])) && (sm || dm)) {
			t->saddr_l = s[1] >> 32;
			t->daddr_l = d[1] >> 32;
			t->metadata = type_bit | CONN_V4;
		} else {
			t->saddr_h = s[0];
			t->saddr_l = s[1];
			t->daddr_h = d[0];
			t->daddr_l = d[1];
			t->metadata = type_bit | CONN_V6;
		}
	} else {
		return -1;
	}
	t->sport = sport;
	t->dport = bpf_ntohs(v->dport);
	__u32 inum = 0;
	if (direct)
		inum = v->net ? DLOAD(__u32, (const void *)v->net, off_net_ns_inum) : 0;
	else if (v->net && KREAD(inum, (const void *)v->net, off_net_ns_inum)) {
		TEL_INC(read_failed);
		return -1;
	}
	t->netns = inum;
	return 0;
}

/* The socket's tuple, read from the kernel now. */
static __always_inline int sock_tuple(const void *sk, struct conn_tuple *t, __u32 type_bit)
{
	struct sk_view v;
	if (sk_view_read(sk, &v))
		return -1;
	__u16 sport = v.num;
	if (type_bit == CONN_TYPE_TCP) {
		__be16 inet_sport = 0;
		if (KREAD(inet_sport, sk, off_inet_sport)) {
			TEL_INC(read_failed);
			return -1;
		}
		sport = bpf_ntohs(inet_sport);
	}
	return tuple_from_view(&v, t, type_bit, sport, 0);
}

static __always_inline struct conn_stats *conn_get(struct conn_tuple *t, __u64 id, __u32 flags, __u8 dir, __u64 start,
						  __u64 now)
{
	struct conn_stats *s = bpf_map_lookup_elem(&conn_stats, t);
	if (s)
		return s;
	struct conn_stats z = {};
	z.id = id;
	z.flags = flags;
	z.direction = dir;
	z.start = start;
	z.timestamp = now > start ? now : start;
	long r = bpf_map_update_elem(&conn_stats, t, &z, BPF_NOEXIST);
	if (r == -7 /* E2BIG: full */) {
		TEL_INC(conn_stats_full);
		return 0;
	}
	return bpf_map_lookup_elem(&conn_stats, t);
}

/* ------------------------------------------------------------------ TCP */

/* Bytes the application queued (write_seq's advance) and consumed
 * (copied_seq's advance), as 64-bit counts: the kernel's 64-bit
 * bytes_acked / bytes_received plus the 32-bit distance to the sequence
 * counter, so nothing wraps at 4 GiB. SYN and FIN take one sequence number
 * each: the SYN is inside the baseline, the FIN is taken out below. */
/* `tp`: the socket as a BTF tcp_sock pointer (direct loads), or 0 (probe reads). */
static __always_inline __u64 tcp_sent_raw(const void *sk, const void *tp, int *err)
{
	__u64 acked = 0;
	__u32 write_seq = 0, snd_una = 0;
	if (tp) {
		acked = DLOAD(__u64, tp, off_tcp_bytes_acked);
		write_seq = DLOAD(__u32, tp, off_tcp_write_seq);
		snd_una = DLOAD(__u32, tp, off_tcp_snd_una);
	} else {
		*err |= KREAD(acked, sk, off_tcp_bytes_acked);
		*err |= KREAD(write_seq, sk, off_tcp_write_seq);
		*err |= KREAD(snd_una, sk, off_tcp_snd_una);
	}
	return acked + (__u32)(write_seq - snd_una);
}

/* sk_shutdown: a plain byte on 5.6+ kernels (a direct load), a bitfield before. */
static __always_inline __u32 sock_shutdown(const void *sk, const void *tp, int *err)
{
	if (tp && bits_sk_shutdown == 8 && !(bitoff_sk_shutdown & 7))
		return DLOAD(__u8, tp, bitoff_sk_shutdown >> 3);
	return read_bits(sk, bitoff_sk_shutdown, bits_sk_shutdown, err);
}

static __always_inline __u64 tcp_recv_raw(const void *sk, const void *tp, int *fin_consumed, int *err)
{
	__u64 received = 0;
	__u32 rcv_nxt = 0, copied_seq = 0;
	if (tp) {
		received = DLOAD(__u64, tp, off_tcp_bytes_received);
		rcv_nxt = DLOAD(__u32, tp, off_tcp_rcv_nxt);
		copied_seq = DLOAD(__u32, tp, off_tcp_copied_seq);
	} else {
		*err |= KREAD(received, sk, off_tcp_bytes_received);
		*err |= KREAD(rcv_nxt, sk, off_tcp_rcv_nxt);
		*err |= KREAD(copied_seq, sk, off_tcp_copied_seq);
	}
	/* The peer's FIN is the last sequence number: consumed once the reader
	 * caught up with rcv_nxt after RCV_SHUTDOWN. (An RST or shutdown(SHUT_RD)
	 * also sets RCV_SHUTDOWN: the count never goes backwards, below.) */
	*fin_consumed = 0;
	if (rcv_nxt == copied_seq && (sock_shutdown(sk, tp, err) & RCV_SHUTDOWN))
		*fin_consumed = 1;
	return received - (__u32)(rcv_nxt - copied_seq);
}

static __always_inline __u8 sock_state_now(const void *sk, int *err)
{
	__u8 s = 0;
	*err |= KREAD(s, sk, off_skc_state);
	return s;
}

/* Our FIN went into write_seq: a close/shutdown moved the socket to
 * FIN_WAIT1 (from ESTABLISHED or SYN_RECV) or LAST_ACK (from CLOSE_WAIT). */
static __always_inline int tcp_fin_sent(struct sock_state *st, __u8 now)
{
	if (st->states & (TCPF(TCP_STATE_FIN_WAIT1) | TCPF(TCP_STATE_LAST_ACK)))
		return 1;
	return now == TCP_STATE_FIN_WAIT1 || now == TCP_STATE_FIN_WAIT2 || now == TCP_STATE_CLOSING ||
	       now == TCP_STATE_LAST_ACK;
}

static __always_inline void tcp_take_baseline(const void *sk, struct sock_state *st)
{
	int err = 0, fin = 0;
	st->sent_base = tcp_sent_raw(sk, 0, &err);
	st->recv_base = tcp_recv_raw(sk, 0, &fin, &err);
	/* A late-seen socket may already have queued or consumed a FIN. */
	__u8 now = sock_state_now(sk, &err);
	if (tcp_fin_sent(st, now))
		st->sent_base -= 1;
	if (fin)
		st->recv_base -= 1;
	if (st->flags & CONN_SEEN_LATE) {
		__u32 so = 0, si = 0;
		err |= KREAD(so, sk, off_tcp_segs_out);
		err |= KREAD(si, sk, off_tcp_segs_in);
		st->segs_out_base = so;
		st->segs_in_base = si;
	}
	st->based = 1;
	if (err)
		TEL_INC(read_failed);
}

static __always_inline int tcp_build_tuple(const void *sk, struct sock_state *st)
{
	if (st->tup_ok)
		return 0;
	if (sock_tuple(sk, &st->rec.tup, CONN_TYPE_TCP))
		return -1;
	/* After connect() the source port is set; before, the tuple is incomplete. */
	if (st->rec.tup.sport && st->rec.tup.dport)
		st->tup_ok = 1;
	return 0;
}

/* The key of a bound port in the port_bindings map (padding zeroed). */
static __always_inline void port_binding_key(struct port_binding *pb, __u32 netns, __u16 port, __u8 protocol)
{
	TRACER_ZERO(pb);
	pb->netns = netns;
	pb->port = port;
	pb->protocol = protocol;
}

/* The tuple's local port is bound (a listening TCP port, a UDP port given to bind()). */
static __always_inline int port_bound(struct conn_tuple *t, __u8 protocol)
{
	struct port_binding pb;
	port_binding_key(&pb, t->netns, t->sport, protocol);
	return bpf_map_lookup_elem(&port_bindings, &pb) != 0;
}

static __always_inline __u8 tcp_direction_late(struct sock_state *st)
{
	return port_bound(&st->rec.tup, IPPROTO_TCP) ? CONN_DIRECTION_INCOMING : CONN_DIRECTION_OUTGOING;
}

/* The value a new socket's state starts from (larger than the stack allows
 * next to the rest: inserted from here, then filled in place). */
const volatile struct sock_state zero_sock_state = {};

static __always_inline void tcp_send_closed(void *ctx, struct sock_state *st, __u8 reason);

/* Per-socket state, created at first sight. `born` says whether this is the
 * connection's beginning (connect or a child of a listener), else it is an
 * older socket seen late and counts start now. An entry already under the
 * socket's address is replaced when it is dead (its destroy's delete
 * failed: its records were sent then) or at a birth: then it is a previous
 * connection, of a socket whose destroy was never seen (sockets are
 * SLAB_TYPESAFE_BY_RCU: a freed socket's address is soon another socket's),
 * or of this socket before it connected again; its records are sent now,
 * closed CONN_CLOSE_EXPIRED (CONN_CLOSE_FAILED if it never connected). Else
 * (an older socket seen late, raced by another event) it is kept. */
static __always_inline struct sock_state *tcp_state_new(void *ctx, const void *sk, int btf, int born, __u8 dir)
{
	__u64 key = (__u64)sk;
	long r = bpf_map_update_elem(&sock_state, &key, (const void *)&zero_sock_state, BPF_NOEXIST);
	if (r == -7) {
		TEL_INC(sock_state_full);
		return 0;
	}
	struct sock_state *st = bpf_map_lookup_elem(&sock_state, &key);
	if (!st)
		return 0;
	if (r) {
		if (st->rec.live != TCP_REC_DEAD) {
			if (!born)
				return st;
			tcp_send_closed(ctx, st, CONN_CLOSE_EXPIRED);
			TEL_INC(tcp_entry_replaced);
		}
		if (bpf_map_update_elem(&sock_state, &key, (const void *)&zero_sock_state, BPF_EXIST))
			return 0;
		st = bpf_map_lookup_elem(&sock_state, &key);
		if (!st)
			return 0;
	}
	__u64 now = bpf_ktime_get_ns();
	__u64 cookie = sk_cookie(sk, btf);
	st->id = cookie ? cookie : assign_id(sk, now);
	st->flags = cookie ? CONN_ID_COOKIE : 0;
	if (!born) {
		st->flags |= CONN_SEEN_LATE;
		TEL_INC(tcp_seen_late);
	}
	st->start = now;
	st->direction = dir;
	return st;
}

/* The socket's state, if it has one (a dead entry is another socket's). */
static __always_inline struct sock_state *tcp_state_get(const void *sk)
{
	__u64 key = (__u64)sk;
	struct sock_state *st = bpf_map_lookup_elem(&sock_state, &key);
	return st && st->rec.live != TCP_REC_DEAD ? st : 0;
}

/* Process slot i of the socket, initialised: the connection of one process
 * (pid 0: none seen in process context yet). */
static __always_inline void tcp_slot_init(struct sock_state *st, __u32 i, __u32 pid, __u64 now)
{
	i &= CONN_MAX_PIDS - 1;
	struct conn_stats *s = &st->rec.slots[i];
	s->id = st->id;
	s->start = st->start;
	s->direction = st->direction;
	s->flags = st->flags | (pid ? 0 : CONN_NO_PID);
	s->timestamp = now > st->start ? now : st->start;
	st->rec.pids[i] = pid;
}

/* The slot of the last process seen (nslots >= 1). */
static __always_inline __u32 tcp_last_slot(struct sock_state *st)
{
	__u8 n = st->rec.nslots;
	if (n >= CONN_MAX_PIDS)
		return CONN_MAX_PIDS - 1;
	return (n - 1) & (CONN_MAX_PIDS - 1);
}

/* Note the process doing I/O on the socket; returns the slot to charge. A
 * late or accepted socket first charged to pid 0 moves to its process.
 * A slot is filled before nslots counts it (userspace reads concurrently). */
static __always_inline __u32 tcp_note_pid(struct sock_state *st, __u32 pid, __u64 now)
{
	if (!pid) {
		if (st->rec.nslots == 0) {
			/* charged to pid 0 until a process shows up (moved then) */
			tcp_slot_init(st, 0, 0, now);
			st->rec.nslots = 1;
		}
		return tcp_last_slot(st);
	}
#pragma unroll
	for (int i = 0; i < CONN_MAX_PIDS; i++) {
		if (i < st->rec.nslots && st->rec.pids[i] == pid)
			return i;
	}
	if (st->rec.nslots == 1 && st->rec.pids[0] == 0) {
		st->rec.pids[0] = pid;
		st->rec.slots[0].flags &= ~CONN_NO_PID;
		return 0;
	}
	if (st->rec.nslots < CONN_MAX_PIDS) {
		__u32 i = st->rec.nslots & (CONN_MAX_PIDS - 1);
		tcp_slot_init(st, i, pid, now);
		st->rec.nslots++;
		return i;
	}
	TEL_INC(pids_overflow);
	return CONN_MAX_PIDS - 1;
}

/* The TCP figures of tcp_sock, into the socket's record. segs_out/segs_in: read by the caller when
 * it has them (have_segs), else here. */
static __always_inline void tcp_stats_write(const void *sk, struct sock_state *st, int have_segs, __u32 so, __u32 si)
{
	if (!st->tup_ok)
		return;
	int err = 0;
	__u32 srtt = 0, mdev = 0, retrans = 0;
	err |= KREAD(srtt, sk, off_tcp_srtt_us);
	err |= KREAD(mdev, sk, off_tcp_mdev_us);
	err |= KREAD(retrans, sk, off_tcp_total_retrans);
	if (!have_segs) {
		err |= KREAD(so, sk, off_tcp_segs_out);
		err |= KREAD(si, sk, off_tcp_segs_in);
		so -= st->segs_out_base;
		si -= st->segs_in_base;
	}
	if (err)
		TEL_INC(read_failed);
	st->stats_at = clock_now();
	struct tcp_stats *v = &st->rec.tcp;
	v->rtt = srtt >> 3;
	v->rtt_var = mdev >> 2;
	v->retransmits = retrans;
	v->segs_out = so;
	v->segs_in = si;
	v->state_transitions = st->states;
	v->state = st->last_state;
}

static __always_inline void tcp_stats_update(const void *sk, struct sock_state *st)
{
	tcp_stats_write(sk, st, 0, 0, 0);
}

/* Bring the socket's counters up to date and charge what moved to `pid`
 * (0: not in process context, charge the last process seen). `dirs`
 * limits the work to the direction(s) this event is about. */
#define DIR_IO 4 /* a send/recv call: tcp_stats may wait (tcp_stats_interval_ns) */

static __always_inline void tcp_refresh(const void *sk, struct sock_state *st, int dirs, __u32 pid, int btf)
{
	__u64 now = clock_now();
	if (tcp_build_tuple(sk, st))
		return;
	__u32 slot = tcp_note_pid(st, pid, now);
	if (!st->based || !st->tup_ok) {
		tcp_stats_update(sk, st);
		return;
	}
	int err = 0;
	__s64 ds = 0, dr = 0;
	/* The current state only matters for a socket seen late (its FIN may
	 * predate us); otherwise the states we saw say whether our FIN was sent. */
	__u8 state = (st->flags & CONN_SEEN_LATE) ? sock_state_now(sk, &err) : 0;
	const void *tp = btf && direct_loads ? bpf_skc_to_tcp_sock((void *)sk) : 0;
	if ((dirs & DIR_SEND) && !st->sent_final) {
		__s64 sent = (__s64)(tcp_sent_raw(sk, tp, &err) - st->sent_base) - tcp_fin_sent(st, state);
		if (sent > (__s64)st->sent) {
			ds = sent - (__s64)st->sent;
			st->sent = sent;
		}
	}
	if (dirs & DIR_RECV) {
		int fin = 0;
		__s64 recv = (__s64)(tcp_recv_raw(sk, tp, &fin, &err) - st->recv_base) - fin;
		if (recv > (__s64)st->recv) {
			dr = recv - (__s64)st->recv;
			st->recv = recv;
		}
	}
	/* Segments (and the rest of tcp_stats) at most every tcp_stats_interval_ns
	 * at a send/recv: packets are current to that interval, exact at close. */
	int stats_due = !(dirs & DIR_IO) || now - st->stats_at >= tcp_stats_interval_ns;
	__u32 so = st->segs_out, si = st->segs_in, dso = 0, dsi = 0;
	if (stats_due) {
		err |= KREAD(so, sk, off_tcp_segs_out);
		err |= KREAD(si, sk, off_tcp_segs_in);
		so -= st->segs_out_base;
		si -= st->segs_in_base;
		dso = so - st->segs_out;
		dsi = si - st->segs_in;
		if ((__s32)dso < 0)
			dso = 0;
		if ((__s32)dsi < 0)
			dsi = 0;
		st->segs_out += dso;
		st->segs_in += dsi;
	}
	if (err)
		TEL_INC(read_failed);
	struct conn_stats *s = &st->rec.slots[slot & (CONN_MAX_PIDS - 1)];
	if (ds)
		__sync_fetch_and_add(&s->sent_bytes, ds);
	if (dr)
		__sync_fetch_and_add(&s->recv_bytes, dr);
	if (dso)
		__sync_fetch_and_add(&s->sent_packets, dso);
	if (dsi)
		__sync_fetch_and_add(&s->recv_packets, dsi);
	stamp(s, now);
	st->rec.live = TCP_REC_LIVE;
	if (stats_due)
		tcp_stats_write(sk, st, 1, so, si);
}

/* The socket at a hook that is not its birth: its state, created if it is
 * an older connection seen for the first time (not a listener). */
static __always_inline struct sock_state *tcp_state_seen(const void *sk, int btf, int *created)
{
	struct sock_state *st = tcp_state_get(sk);
	if (st)
		return st;
	*created = 1;
	int err = 0;
	__u8 now = sock_state_now(sk, &err);
	if (err || now == TCP_STATE_LISTEN || now == TCP_STATE_CLOSE || now == TCP_STATE_NEW_SYN_RECV)
		return 0;
	st = tcp_state_new(0, sk, btf, 0, CONN_DIRECTION_UNKNOWN);
	if (!st)
		return 0;
	st->states |= TCPF(now);
	st->last_state = now;
	if (tcp_build_tuple(sk, st) == 0 && st->tup_ok)
		st->direction = tcp_direction_late(st);
	if (now != TCP_STATE_SYN_SENT && now != TCP_STATE_SYN_RECV)
		tcp_take_baseline(sk, st);
	return st;
}

static __always_inline void port_binding_set(const void *sk, __u8 protocol, int add)
{
	int err = 0;
	struct port_binding pb;
	__be16 sport = 0;
	err |= KREAD(sport, sk, off_inet_sport);
	__u32 netns = sock_netns(sk, &err);
	port_binding_key(&pb, netns, bpf_ntohs(sport), protocol);
	if (err) {
		TEL_INC(read_failed);
		return;
	}
	if (add) {
		__u8 one = 1;
		bpf_map_update_elem(&port_bindings, &pb, &one, BPF_ANY);
	} else {
		bpf_map_delete_elem(&port_bindings, &pb);
	}
}

/* sock:inet_sock_set_state for a TCP socket. */
static __always_inline void tcp_on_state(void *ctx, const void *sk, int oldstate, int newstate, int btf)
{
	struct sock_state *st;
	if (newstate == TCP_STATE_LISTEN) {
		port_binding_set(sk, IPPROTO_TCP, 1);
		return;
	}
	if (oldstate == TCP_STATE_LISTEN) {
		if (newstate == TCP_STATE_CLOSE) {
			port_binding_set(sk, IPPROTO_TCP, 0);
			return;
		}
		if (newstate != TCP_STATE_SYN_RECV)
			return;
		/* A child of a listener: an incoming connection. Its id is assigned,
		 * never its cookie: a clone inherits the listener's sk_cookie on some
		 * kernels (6.1 and 6.12 seen: 1000 accepted sockets, one cookie). */
		st = tcp_state_new(ctx, sk, 0, 1, CONN_DIRECTION_INCOMING);
		if (!st)
			return;
	} else if (oldstate == TCP_STATE_CLOSE && newstate == TCP_STATE_SYN_SENT) {
		/* connect(): an outgoing connection, in the connecting process. */
		st = tcp_state_new(ctx, sk, btf, 1, CONN_DIRECTION_OUTGOING);
		if (!st)
			return;
		tcp_note_pid(st, current_tgid(), 0);
	} else {
		int created = 0;
		st = tcp_state_seen(sk, btf, &created);
		if (!st)
			return;
	}
	st->states |= TCPF(newstate);
	st->states |= TCPF(oldstate) & ~TCPF(TCP_STATE_LISTEN) & ~TCPF(TCP_STATE_CLOSE);
	st->last_state = newstate;
	if (newstate == TCP_STATE_CLOSE) {
		tcp_refresh(sk, st, DIR_SEND | DIR_RECV, 0, btf);
		st->sent_final = 1;
		return;
	}
	if (newstate == TCP_STATE_ESTABLISHED && !st->based) {
		tcp_build_tuple(sk, st);
		tcp_take_baseline(sk, st);
		/* Visible from now on, charged to the connecting process (or pid 0
		 * for an accepted socket until its process does I/O). */
		tcp_refresh(sk, st, DIR_SEND | DIR_RECV, 0, btf);
		return;
	}
	tcp_stats_update(sk, st);
}

/* ------------------------------------------------------------ close records */

static __always_inline void emit_close(void *ctx, struct conn *c)
{
	if (!transport_perf) {
		__u64 flags = BPF_RB_NO_WAKEUP;
		if (bpf_ringbuf_query(&closed_ring, BPF_RB_AVAIL_DATA) + sizeof(*c) >= ring_wakeup_bytes)
			flags = BPF_RB_FORCE_WAKEUP;
		if (bpf_ringbuf_output(&closed_ring, c, sizeof(*c), flags))
			TEL_INC(closed_lost);
		else
			TEL_INC(closed_sent);
		return;
	}
	__u32 zero = 0;
	struct batch *b = bpf_map_lookup_elem(&closed_batch, &zero);
	if (!b) {
		TEL_INC(closed_lost);
		return;
	}
	switch (b->len) {
	case 0:
		__builtin_memcpy(&b->c0, c, sizeof(*c));
		break;
	case 1:
		__builtin_memcpy(&b->c1, c, sizeof(*c));
		break;
	case 2:
		__builtin_memcpy(&b->c2, c, sizeof(*c));
		break;
	case 3:
		__builtin_memcpy(&b->c3, c, sizeof(*c));
		break;
	default:
		TEL_INC(closed_lost);
		return;
	}
	b->len++;
	if (b->len < CONN_CLOSED_BATCH_SIZE)
		return;
	/* Full: sent from the map value itself (it is larger than the stack). */
	if (bpf_perf_event_output(ctx, &closed_perf, BPF_F_CURRENT_CPU, b, sizeof(*b)))
		TEL_ADD(closed_lost, CONN_CLOSED_BATCH_SIZE);
	else
		TEL_ADD(closed_sent, CONN_CLOSED_BATCH_SIZE);
	TEL_INC(batch_flushes);
	b->len = 0;
	b->id++;
}

/* The close record of process slot i (a constant), if the socket has it. */
static __always_inline void tcp_close_slot(void *ctx, struct sock_state *st, struct conn *c, const int i, __u8 n, __u64 now,
					   __u8 reason)
{
	if (i >= n)
		return;
	__builtin_memset(c, 0, sizeof(*c));
	c->tup = st->rec.tup;
	c->tup.pid = st->rec.pids[i];
	c->conn_stats = st->rec.slots[i];
	if (now)
		c->conn_stats.timestamp = now;
	c->tcp_stats = st->rec.tcp;
	c->tcp_stats.state_transitions = st->states | TCPF(TCP_STATE_CLOSE);
	c->tcp_stats.state = TCP_STATE_CLOSE;
	c->reason = reason;
	emit_close(ctx, c);
}

/* tcp:tcp_destroy_sock: after both the user close and the protocol close.
 * One close record per process that used the socket; all state removed. */
static __always_inline void tcp_on_destroy(void *ctx, const void *sk, int btf)
{
	struct sock_state *st = tcp_state_get(sk);
	if (!st) {
		/* Never seen: a listener, a socket that never connected (no
		 * peer: nothing to report), or an older connection with no event
		 * since we started (it still gets its close record). */
		int err = 0;
		__be16 dport = 0;
		err |= KREAD(dport, sk, off_skc_dport);
		if (err || !dport)
			return;
		int created = 0;
		st = tcp_state_seen(sk, btf, &created);
		if (!st) {
			st = tcp_state_new(0, sk, btf, 0, CONN_DIRECTION_UNKNOWN);
			if (!st)
				return;
			if (tcp_build_tuple(sk, st) == 0 && st->tup_ok)
				st->direction = tcp_direction_late(st);
		}
	}
	tcp_refresh(sk, st, DIR_SEND | DIR_RECV, 0, btf);
	tcp_send_closed(ctx, st, CONN_CLOSE_DESTROYED);
	/* Dead first: should the delete fail (a hash bucket's lock can time
	 * out on 6.15+), no event counts into it, userspace neither shows nor
	 * reports it again, and the next socket at this address replaces it. */
	st->rec.live = TCP_REC_DEAD;
	__u64 key = (__u64)sk;
	long d = bpf_map_delete_elem(&sock_state, &key);
	if (d && d != -2 /* ENOENT */)
		TEL_INC(sock_state_delete_failed);
}

/* One close record per process slot of the socket (none before its tuple is
 * known). `reason`: CONN_CLOSE_DESTROYED at its destroy, CONN_CLOSE_EXPIRED
 * when its destroy was never seen (then the slots keep their last activity
 * as the close time); either is CONN_CLOSE_FAILED if it never connected. */
static __always_inline void tcp_send_closed(void *ctx, struct sock_state *st, __u8 reason)
{
	if (!st->tup_ok && !st->rec.tup.dport)
		return;
	/* The record is built on the stack: a per-CPU scratch value could be
	 * overwritten by another program preempting this one (PREEMPT_RT). */
	struct conn rec;
	struct conn *c = &rec;
	__u64 now = bpf_ktime_get_ns();
	if (!(st->states & TCPF(TCP_STATE_ESTABLISHED)) && !(st->flags & CONN_SEEN_LATE))
		reason = CONN_CLOSE_FAILED;
	if (st->rec.nslots == 0) {
		/* no process ever seen (a failed handshake of a listener's child) */
		tcp_slot_init(st, 0, 0, now);
		st->rec.nslots = 1;
	}
	__u8 n = st->rec.nslots;
	if (reason == CONN_CLOSE_EXPIRED)
		now = 0;
	/* Written out, not a loop: clang lays this loop's back edge out as
	 * a fall-through, which the 5.10 verifier rejects ("back-edge"),
	 * and does not unroll it on its own. */
	tcp_close_slot(ctx, st, c, 0, n, now, reason);
	tcp_close_slot(ctx, st, c, 1, n, now, reason);
	tcp_close_slot(ctx, st, c, 2, n, now, reason);
	tcp_close_slot(ctx, st, c, 3, n, now, reason);
}

/* ------------------------------------------------------------------ UDP */

/* Make the tuple's peer IPv4 (a v4 or v4-mapped peer): a dual-stack
 * socket's local side is then the wildcard or its mapped address. */
static __always_inline void tuple_to_v4(struct conn_tuple *t)
{
	if (t->metadata & CONN_V6) {
		t->saddr_l = is_v4mapped(t->saddr_h, t->saddr_l) ? t->saddr_l >> 32 : 0;
		t->saddr_h = 0;
		t->metadata &= ~CONN_V6;
	}
	t->daddr_h = 0;
}

/* Put a peer into the tuple: an IPv4 address (a4) or an IPv6 one (a6, two
 * little-endian u64 halves as read), its port in network order. A v4 or
 * v4-mapped peer makes the tuple IPv4. */
static __always_inline int udp_apply_peer(struct conn_tuple *t, __u16 family, __u32 a4, __u64 *a6, __be16 port)
{
	if (family == AF_INET) {
		tuple_to_v4(t);
		t->daddr_l = a4;
	} else if (family == AF_INET6) {
		if (is_v4mapped(a6[0], a6[1])) {
			tuple_to_v4(t);
			t->daddr_l = a6[1] >> 32;
		} else {
			t->daddr_h = a6[0];
			t->daddr_l = a6[1];
		}
	} else {
		return -1;
	}
	t->dport = bpf_ntohs(port);
	return 0;
}

/* A read of user memory (syscall arguments) or of kernel memory (the
 * kernel's copy of a sockaddr, at a kprobe or fentry): `kernel` is a constant. */
static __always_inline long read_mem(void *dst, __u32 size, const void *src, int kernel)
{
	return kernel ? bpf_probe_read_kernel(dst, size, src) : bpf_probe_read_user(dst, size, src);
}

/* Put the peer of a sockaddr (sockaddr_in / sockaddr_in6) into the tuple. */
static __always_inline int udp_apply_sockaddr(struct conn_tuple *t, __u64 addr, int kernel)
{
	__u16 family = 0;
	__be16 port = 0;
	__u32 a4 = 0;
	__u64 a6[2] = {};
	if (!addr || read_mem(&family, sizeof(family), (const void *)addr, kernel))
		return -1;
	if (read_mem(&port, sizeof(port), (const void *)(addr + 2), kernel))
		return -1;
	if (family == AF_INET && read_mem(&a4, sizeof(a4), (const void *)(addr + 4), kernel))
		return -1;
	if (family == AF_INET6 && read_mem(a6, sizeof(a6), (const void *)(addr + 8), kernel))
		return -1;
	return udp_apply_peer(t, family, a4, a6, port);
}

/* The user sockaddr of message `index` of a syscall in flight. */
static __always_inline __u64 udp_call_sockaddr(struct udp_call *call, __u32 index)
{
	__u64 name = 0;
	switch (call->kind) {
	case UDP_CALL_SENDTO:
	case UDP_CALL_RECVFROM:
		return call->uptr;
	case UDP_CALL_SENDMSG:
	case UDP_CALL_RECVMSG:
		/* struct user_msghdr: msg_name at 0 */
		if (bpf_probe_read_user(&name, sizeof(name), (const void *)call->uptr))
			return 0;
		return name;
	case UDP_CALL_SENDMMSG:
	case UDP_CALL_RECVMMSG:
		/* struct mmsghdr: 56-byte msghdr + msg_len, 64 bytes each */
		if (bpf_probe_read_user(&name, sizeof(name), (const void *)(call->uptr + (__u64)(index & 1023) * 64)))
			return 0;
		return name;
	}
	return 0;
}

static __always_inline void udp_count_tuple(const void *sk, struct conn_tuple *t, int bytes, int is_send, int btf, __u32 pid)
{
	__u64 now = clock_now();
	t->pid = pid;
	struct conn_stats *s = bpf_map_lookup_elem(&conn_stats, t);
	if (!s) {
		/* A new flow: its id and start from the clock itself. */
		__u64 fine = bpf_ktime_get_ns();
		__u64 cookie = sk_cookie(sk, btf);
		__u32 first = is_send ? CONN_L_INIT : CONN_R_INIT;
		__u64 id = cookie ? cookie : assign_id(sk, fine);
		/* A flow on a port bound by bind() (kprobe/fentry backends) is
		 * incoming, whichever side spoke first; else the first datagram says. */
		__u8 dir = is_send && !port_bound(t, IPPROTO_UDP) ? CONN_DIRECTION_OUTGOING : CONN_DIRECTION_INCOMING;
		s = conn_get(t, id, first | (cookie ? CONN_ID_COOKIE : 0) | (pid ? 0 : CONN_NO_PID), dir, fine, fine);
		if (!s)
			return;
	}
	if (is_send) {
		__sync_fetch_and_add(&s->sent_bytes, bytes);
		__sync_fetch_and_add(&s->sent_packets, 1);
		if ((s->flags & CONN_R_INIT) && !(s->flags & CONN_ASSURED))
			s->flags |= CONN_ASSURED;
	} else {
		__sync_fetch_and_add(&s->recv_bytes, bytes);
		__sync_fetch_and_add(&s->recv_packets, 1);
		if ((s->flags & CONN_L_INIT) && !(s->flags & CONN_ASSURED))
			s->flags |= CONN_ASSURED;
	}
	stamp(s, now);
}

/* A received datagram whose source address is now in user memory. */
static __always_inline void udp_finish_recv(struct udp_call *call)
{
	struct conn_tuple t;
	if (!call->pending_sk)
		return;
	const void *sk = (const void *)call->pending_sk;
	int ret = call->pending_ret;
	call->pending_sk = 0;
	if (sock_tuple(sk, &t, CONN_TYPE_UDP))
		return;
	if (udp_apply_sockaddr(&t, udp_call_sockaddr(call, call->index), 0))
		TEL_INC(udp_addr_missing);
	udp_count_tuple(sk, &t, ret, 0, 0, current_tgid());
}

/* sock:sock_send_length / sock_recv_length for a UDP socket. */
static __always_inline void udp_on_io(const void *sk, struct sk_view *v, int ret, int flags, int is_send, int btf)
{
	struct conn_tuple t;
	if (ret <= 0 || (!is_send && (flags & (MSG_PEEK | MSG_ERRQUEUE))))
		return;
	/* direct: the view came from direct loads (on_io), net is a BTF pointer */
	if (tuple_from_view(v, &t, CONN_TYPE_UDP, v->num, btf && direct_loads))
		return;
	if (t.dport == 0) {
		/* Unconnected: the peer is in the syscall's sockaddr. */
		__u64 id = bpf_get_current_pid_tgid();
		struct udp_call *call = udp_syscalls ? bpf_map_lookup_elem(&udp_calls, &id) : 0;
		if (call && is_send && call->kind <= UDP_CALL_SENDMMSG) {
			__u32 index = call->index;
			if (call->kind == UDP_CALL_SENDMMSG)
				call->index++;
			if (udp_apply_sockaddr(&t, udp_call_sockaddr(call, index), 0))
				TEL_INC(udp_addr_missing);
		} else if (call && !is_send && call->kind >= UDP_CALL_RECVFROM) {
			/* The source address is copied out after this event: count at the
			 * next datagram of the same call (recvmmsg) or at the syscall's exit. */
			if (call->pending_sk) {
				udp_finish_recv(call);
				call->index++;
			}
			call->pending_sk = (__u64)sk;
			call->pending_ret = ret;
			return;
		} else {
			TEL_INC(udp_addr_missing);
		}
	}
	udp_count_tuple(sk, &t, ret, is_send, btf, current_tgid());
}

/* The call's bytes are unknown to the hook (tcp_on_call). */
#define COPIED_UNKNOWN (-1)

/* A send or receive call of the current process moved a TCP socket's
 * counters: bring them up to date and charge what moved to it. `copied`:
 * the call's bytes where known, else COPIED_UNKNOWN. */
static __always_inline void tcp_on_call(const void *sk, int is_send, int copied, int btf)
{
	int created = 0;
	struct sock_state *st = tcp_state_seen(sk, btf, &created);
	if (!st)
		return;
	/* First seen at this call: the baseline was read after the call moved
	 * the counters, so this call's own bytes are put back in. A send whose
	 * size the hook does not know (tcp_push): what is not yet acknowledged
	 * is taken as this call's (exact when nothing was in flight before it,
	 * the common case of a socket idle until now; else the older in-flight
	 * bytes are counted too). */
	if (created && st->based) {
		if (copied == COPIED_UNKNOWN && is_send) {
			int err = 0;
			__u32 write_seq = 0, snd_una = 0;
			err |= KREAD(write_seq, sk, off_tcp_write_seq);
			err |= KREAD(snd_una, sk, off_tcp_snd_una);
			if (!err)
				st->sent_base -= (__u32)(write_seq - snd_una);
		} else if (copied > 0) {
			if (is_send)
				st->sent_base -= copied;
			else
				st->recv_base -= copied;
		}
	}
	tcp_refresh(sk, st, (is_send ? DIR_SEND : DIR_RECV) | DIR_IO, current_tgid(), btf);
}

/* sock:sock_send_length / sock_recv_length: route by protocol. */
static __always_inline void on_io(const void *sk, int ret, int flags, int is_send, int btf)
{
	struct sk_view v;
	if (!offsets_ready || !sk)
		return;
	/* By direct loads, family and protocol only: a TCP socket needs nothing
	 * else of its head here (its tuple is in its record), a UDP one its view. */
	__u32 proto;
	if (btf && direct_loads) {
		proto = sk_inet_protocol(sk, btf);
		if (proto == IPPROTO_UDP)
			sk_view_direct(sk, &v);
	} else {
		proto = sk_inet_view(sk, &v, btf);
	}
	if (proto == IPPROTO_UDP) {
		udp_on_io(sk, &v, ret, flags, is_send, btf);
		return;
	}
	if (proto != IPPROTO_TCP || ret < 0)
		return;
	if (!is_send && (flags & MSG_ERRQUEUE))
		return;
	tcp_on_call(sk, is_send, ret, btf);
}

/* A TCP-only hook that carries the socket (state change, retransmit,
 * receive-space adjust, probe): refresh what it says moved. */
static __always_inline int is_tcp_inet(const void *sk)
{
	struct sk_view v;
	return sk_inet_view(sk, &v, 0) == IPPROTO_TCP;
}

#endif
