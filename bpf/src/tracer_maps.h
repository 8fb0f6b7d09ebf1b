/* SPDX-License-Identifier: GPL-2.0 */
/* The tracer's maps and its per-socket TCP state. */
#ifndef TRACER_BPF_MAPS_H
#define TRACER_BPF_MAPS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "tracer_bpf/abi.h"

/* Per TCP socket, the value of map `sock_state`: its public record
 * (struct tcp_sock_rec: tuple, TCP figures, per-process counters; userspace
 * reads it) and what is needed to turn the kernel's own sequence counters
 * into those byte counts. */
struct sock_state {
	struct tcp_sock_rec rec; /* rec.tup: pid 0; complete when tup_ok */
	__u64 id;
	__u64 start;
	__u64 sent_base;         /* sent_raw at the baseline */
	__u64 recv_base;
	__u64 stats_at;          /* clock_now() of the last write of rec.tcp */
	__u64 sent;              /* bytes sent so far (monotonic) */
	__u64 recv;
	__u32 segs_out_base;
	__u32 segs_in_base;
	__u32 segs_out;          /* segments so far, from the baseline */
	__u32 segs_in;
	__u32 flags;             /* enum conn_flags */
	__u16 states;            /* 1 << tcp state, every state entered */
	__u8 tup_ok;
	__u8 based;              /* byte baseline taken (ESTABLISHED or first sight after it) */
	__u8 direction;
	__u8 last_state;
	/* TCP_CLOSE reached: nothing can be queued any more, and an abortive
	 * close (tcp_disconnect) moves write_seq and zeroes bytes_acked right
	 * after, before destroy: the sent count is final from here. */
	__u8 sent_final;
};

/* Maps sized from userspace (setMaxEntries) before load. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, struct conn_tuple);
	__type(value, struct conn_stats);
} conn_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64); /* struct sock * */
	__type(value, struct sock_state);
} sock_state SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, struct port_binding);
	__type(value, __u8);
} port_bindings SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct telemetry);
} telemetry SEC(".maps");

/* Close records: ring buffer (default) or per-CPU batches on a perf buffer. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20);
} closed_ring SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} closed_perf SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct batch);
} closed_batch SEC(".maps");


/* UDP: the user's sockaddr (or msghdr / mmsghdr vector) of the syscall in
 * flight on a thread, and a receive waiting for its source address. */
enum udp_call_kind {
	UDP_CALL_SENDTO = 1,
	UDP_CALL_SENDMSG = 2,
	UDP_CALL_SENDMMSG = 3,
	UDP_CALL_RECVFROM = 4,
	UDP_CALL_RECVMSG = 5,
	UDP_CALL_RECVMMSG = 6,
};

struct udp_call {
	__u64 uptr;          /* sockaddr (sendto/recvfrom), msghdr or mmsghdr vector */
	__u64 pending_sk;    /* receive: the socket of a datagram waiting for its address */
	__s32 pending_ret;
	__u32 index;         /* mmsg: message index of the next datagram */
	__u32 kind;
	__u32 _pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64); /* pid_tgid */
	__type(value, struct udp_call);
} udp_calls SEC(".maps");

/* kprobe backend: what a function's entry saw, for the hook that follows it
 * on the same thread (its kretprobe, or udp_send_skb after udp_sendmsg).
 * LRU: an entry whose follower never ran (a failed call, a missed
 * kretprobe) is overwritten by the thread's next call or evicted. */
enum call_kind {
	CALL_UDP_SEND = 1,
	CALL_CONNECT = 2,
	CALL_BIND = 3,
};

struct call_args {
	__u64 sk;    /* struct sock * (bind: struct socket *) */
	__u64 addr;  /* kernel sockaddr: msg_name of a send, the address of a bind */
	__s64 len;
	__u32 kind;
	__u32 _pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 8192);
	__type(key, __u64); /* pid_tgid */
	__type(value, struct call_args);
} call_args SEC(".maps");

#endif
