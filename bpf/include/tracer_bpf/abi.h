/* SPDX-License-Identifier: (GPL-2.0-only OR MIT) */
/*
 * tracer-bpf ABI: every byte that crosses between the kernel programs and
 * userspace is declared here, and nowhere else.
 *
 * Consumers:
 *   - the eBPF programs (clang -target bpf, next to <linux/types.h>);
 *   - host C programs (gcc) that write golden records and print offsetof/sizeof;
 *   - @tracer-bpf/decode, through src/layout.gen.ts, generated from the BTF of
 *     bpf/obj/tracer_abi.bpf.o (`pnpm --filter @tracer-bpf/decode codegen`).
 *
 * Rules (later issues extend this header and follow them; codegen enforces
 * most of them again and refuses a struct that breaks one):
 *   1. Fixed-width types only (__u8..__u64, __s8..__s64) and fixed arrays of
 *      them or of ABI structs. No bool, no enum-typed fields, no pointers, no
 *      long, no bitfields. Enums below only name values; fields that hold one
 *      are the __uN the comment names.
 *   2. No implicit padding: every hole is an explicit `_padN` field, u64
 *      fields are 8-aligned, and every struct's size is a multiple of 8.
 *   3. `_Static_assert` on every size and every offset (the decoder reads
 *      every field).
 *   4. Map keys are hashed as raw bytes: zero the whole key before filling it
 *      (TRACER_ZERO), so that padding bytes, present or future, can never
 *      split one connection into several entries.
 *   5. Multi-byte fields are host-endian; only little-endian hosts are
 *      supported (asserted below). Addresses are the exception: raw network
 *      order bytes, see struct conn_tuple.
 *   6. A layout change bumps TRACER_ABI_VERSION and regenerates the table.
 */
#ifndef TRACER_BPF_ABI_H
#define TRACER_BPF_ABI_H

#include <linux/types.h>

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "tracer-bpf's ABI is little-endian only"
#endif

#define TRACER_ABI_SIZE(type, size) \
	_Static_assert(sizeof(struct type) == (size), "sizeof(struct " #type ") != " #size)
#define TRACER_ABI_OFFSET(type, field, off) \
	_Static_assert(__builtin_offsetof(struct type, field) == (off), \
		       "offsetof(struct " #type ", " #field ") != " #off)

/* Zero a whole struct (a map key above all) before filling its fields. */
#define TRACER_ZERO(ptr) __builtin_memset((ptr), 0, sizeof(*(ptr)))

/* ------------------------------------------------------------------ constants */

enum tracer_abi_const {
	/* Bumped on any layout change of a struct below. */
	TRACER_ABI_VERSION = 5,
	/* Close records per `struct batch` (4 x 144 + 16 = 592 bytes: more than
	 * the 512-byte BPF stack, so a full batch is sent from its per-CPU map
	 * value, never copied onto the stack). */
	CONN_CLOSED_BATCH_SIZE = 4,
	/* Processes counted apart on one TCP socket (struct tcp_sock_rec); more
	 * are charged to the last slot (telemetry pids_overflow). */
	CONN_MAX_PIDS = 4,
	/* TASK_COMM_LEN: a process name with its NUL. */
	TRACER_COMM_LEN = 16,
};

/* ------------------------------------------------- enums (kernel encodings) */
/*
 * These are the kernel-side *bit* encodings. Userspace has its own enums
 * with other values (ConnectionType TCP=0/UDP=1, ConnectionFamily
 * AFINET=0/AFINET6=1 in @tracer-bpf/decode): never mix the two.
 */

/* conn_tuple.metadata bit 0. */
enum conn_type_bit {
	CONN_TYPE_UDP = 0,
	CONN_TYPE_TCP = 1,
	CONN_TYPE_MASK = 1,
};

/* conn_tuple.metadata bit 1. */
enum conn_family_bit {
	CONN_V4 = 0,
	CONN_V6 = 2,
	CONN_FAMILY_MASK = 2,
};

/* conn_stats.direction (a __u8). */
enum conn_direction {
	CONN_DIRECTION_UNKNOWN = 0,
	CONN_DIRECTION_INCOMING = 1,
	CONN_DIRECTION_OUTGOING = 2,
	CONN_DIRECTION_MASK = 3,
};

/* conn_stats.flags bits. */
enum conn_flags {
	CONN_L_INIT = 1,      /* UDP: the local side sent first */
	CONN_R_INIT = 2,      /* UDP: the remote side sent first */
	CONN_ASSURED = 4,     /* UDP: traffic seen both ways */
	CONN_ID_COOKIE = 8,   /* conn_stats.id is the kernel's socket cookie (else an id the tracer assigned) */
	CONN_SEEN_LATE = 16,  /* first seen after it was opened (it existed before the tracer): counters start then */
	CONN_NO_PID = 32,     /* no I/O in process context seen yet: pid is 0 */
};

/* conn.reason: why a close record was made. */
enum conn_close_reason {
	CONN_CLOSE_DESTROYED = 1, /* the socket was destroyed (TCP: after both the user and the protocol close) */
	CONN_CLOSE_FAILED = 2,    /* TCP: destroyed without ever reaching ESTABLISHED (refused, timed out, aborted) */
	CONN_CLOSE_EXPIRED = 3,   /* UDP: idle past its timeout (made in userspace). TCP: its destroy was not
				   * seen: gone from the kernel's socket table (userspace), or a socket was born
				   * at its address (kernel; telemetry tcp_entry_replaced) */
};

/* tcp_sock_rec.live (a __u8). */
enum tcp_rec_live {
	TCP_REC_PENDING = 0, /* not shown yet: no complete tuple or byte baseline */
	TCP_REC_LIVE = 1,    /* shown */
	TCP_REC_DEAD = 2,    /* destroyed, its close records sent, but the entry's delete failed
			      * (telemetry sock_state_delete_failed): never shown; removed by userspace,
			      * or replaced by the next socket at its address */
};

/* Kernel TCP states (include/net/tcp_states.h). tcp_stats.state_transitions
 * holds 1 << state for every state the connection entered. */
enum tcp_state_num {
	TCP_STATE_ESTABLISHED = 1,
	TCP_STATE_SYN_SENT = 2,
	TCP_STATE_SYN_RECV = 3,
	TCP_STATE_FIN_WAIT1 = 4,
	TCP_STATE_FIN_WAIT2 = 5,
	TCP_STATE_TIME_WAIT = 6,
	TCP_STATE_CLOSE = 7,
	TCP_STATE_CLOSE_WAIT = 8,
	TCP_STATE_LAST_ACK = 9,
	TCP_STATE_LISTEN = 10,
	TCP_STATE_CLOSING = 11,
	TCP_STATE_NEW_SYN_RECV = 12,
};

/* What a guess capture holds (bits of guess_mailbox.what: the kinds a
 * capture may be taken for; guess_capture.what: the one it was). */
enum guess_what {
	GUESS_SOCK = 1,    /* a TCP or UDP socket (tcp:tcp_rcv_space_adjust, sock:sock_send_length) */
	GUESS_MSGHDR = 2,  /* a UDP socket and the msghdr of its send (kprobe udp_sendmsg) */
	GUESS_SKB = 4,     /* a UDP socket and the sk_buff of a datagram read (kprobe skb_consume_udp) */
	GUESS_SOCKET = 8,  /* a struct socket (kprobe inet_getname, at getsockname) */
};

/* Sizes of the offset guesser's capture (struct guess_capture). */
enum guess_const {
	GUESS_SK_BYTES = 4096,    /* of the socket: the whole tcp_sock */
	GUESS_ARG_BYTES = 512,    /* of the call's other object (msghdr, sk_buff, struct socket) */
	GUESS_CHUNK = 512,        /* the socket is read in chunks of this size (one fault loses one chunk) */
	GUESS_DEREFS = 16,        /* pointers followed per capture */
	GUESS_DEREF_BYTES = 512,  /* read where each points */
};

/* guess_deref.flags */
enum guess_deref_flags {
	GUESS_DEREF_ON = 1,       /* this slot is used */
	GUESS_DEREF_FROM_ARG = 2, /* the pointer is in the call's other object, not in the socket */
};

/* ------------------------------------------------------------------ structs */

/*
 * One connection, the key of the per-connection maps (48 bytes, no padding).
 * Addresses are raw network-order bytes: bytes 0..15 of the struct are the
 * 16 bytes of an IPv6 source address in wire order (saddr_h holds bytes 0..7
 * read as a little-endian u64, saddr_l bytes 8..15). An IPv4 address is the 4
 * wire-order bytes in the low 32 bits of saddr_l (struct bytes 8..11), with
 * saddr_h = 0 and the upper half of saddr_l = 0. Same for daddr at 16..31.
 * IPv4-mapped IPv6 (::ffff:a.b.c.d) is rewritten by the kernel side as IPv4.
 * Ports are in host byte order. pid is 0 in tcp_stats keys.
 */
struct conn_tuple {
	__u64 saddr_h;
	__u64 saddr_l;
	__u64 daddr_h;
	__u64 daddr_l;
	__u16 sport;    /* source (local) port, host order */
	__u16 dport;    /* destination (remote) port, host order */
	__u32 netns;    /* network namespace inode number */
	__u32 pid;      /* tgid, in the tracer's pid namespace */
	__u32 metadata; /* enum conn_type_bit | enum conn_family_bit */
};
TRACER_ABI_SIZE(conn_tuple, 48);
TRACER_ABI_OFFSET(conn_tuple, saddr_h, 0);
TRACER_ABI_OFFSET(conn_tuple, saddr_l, 8);
TRACER_ABI_OFFSET(conn_tuple, daddr_h, 16);
TRACER_ABI_OFFSET(conn_tuple, daddr_l, 24);
TRACER_ABI_OFFSET(conn_tuple, sport, 32);
TRACER_ABI_OFFSET(conn_tuple, dport, 34);
TRACER_ABI_OFFSET(conn_tuple, netns, 36);
TRACER_ABI_OFFSET(conn_tuple, pid, 40);
TRACER_ABI_OFFSET(conn_tuple, metadata, 44);

/*
 * Per-connection counters (64 bytes): the value of map `conn_stats` (UDP
 * flows), a process slot of struct tcp_sock_rec, part of a close record. Counters are monotonic. Packets are TCP segments / UDP datagrams.
 * `id` tells connections on a reused tuple apart: a new id is a new
 * connection, never a counter going backwards.
 */
struct conn_stats {
	__u64 sent_bytes;
	__u64 recv_bytes;
	__u64 sent_packets;
	__u64 recv_packets;
	__u64 timestamp;    /* bpf_ktime_get_ns() of the last update; at close, the close time */
	__u64 id;           /* socket cookie (CONN_ID_COOKIE) or an id assigned at first sight */
	__u64 start;        /* bpf_ktime_get_ns() when first seen */
	__u32 flags;        /* enum conn_flags bits */
	__u8 direction;     /* enum conn_direction */
	__u8 _pad0[3];
};
TRACER_ABI_SIZE(conn_stats, 64);
TRACER_ABI_OFFSET(conn_stats, sent_bytes, 0);
TRACER_ABI_OFFSET(conn_stats, recv_bytes, 8);
TRACER_ABI_OFFSET(conn_stats, sent_packets, 16);
TRACER_ABI_OFFSET(conn_stats, recv_packets, 24);
TRACER_ABI_OFFSET(conn_stats, timestamp, 32);
TRACER_ABI_OFFSET(conn_stats, id, 40);
TRACER_ABI_OFFSET(conn_stats, start, 48);
TRACER_ABI_OFFSET(conn_stats, flags, 56);
TRACER_ABI_OFFSET(conn_stats, direction, 60);
TRACER_ABI_OFFSET(conn_stats, _pad0, 61);

/*
 * TCP-only counters read from the kernel's tcp_sock, per socket (24 bytes:
 * in struct tcp_sock_rec and close records). RTT values are in microseconds, shifted like tcp_info
 * (srtt_us >> 3, mdev_us >> 2); retransmits is tcp_sock.total_retrans;
 * segments are segs_out / segs_in (what TCP_INFO reports).
 */
struct tcp_stats {
	__u32 retransmits;
	__u32 rtt;               /* smoothed RTT, us */
	__u32 rtt_var;           /* RTT variance, us */
	__u32 segs_out;
	__u32 segs_in;
	__u16 state_transitions; /* bitmask of 1 << enum tcp_state_num */
	__u8 state;              /* the last state seen (enum tcp_state_num) */
	__u8 _pad0;
};
TRACER_ABI_SIZE(tcp_stats, 24);
TRACER_ABI_OFFSET(tcp_stats, retransmits, 0);
TRACER_ABI_OFFSET(tcp_stats, rtt, 4);
TRACER_ABI_OFFSET(tcp_stats, rtt_var, 8);
TRACER_ABI_OFFSET(tcp_stats, segs_out, 12);
TRACER_ABI_OFFSET(tcp_stats, segs_in, 16);
TRACER_ABI_OFFSET(tcp_stats, state_transitions, 20);
TRACER_ABI_OFFSET(tcp_stats, state, 22);
TRACER_ABI_OFFSET(tcp_stats, _pad0, 23);

/*
 * A TCP socket (352 bytes): the head of the value of map `sock_state`, keyed
 * by the socket's kernel address (the rest of the value is the tracer's
 * private state). TCP connections are counted here, so that a send or
 * receive costs one map access: `conn_stats` holds UDP flows only. Slot i
 * (i < nslots) holds the counters of process pids[i], each slot a
 * connection of its own (tup with pid = pids[i]); `tcp` is per socket.
 * Userspace shows the socket while `live` is TCP_REC_LIVE: its tuple is
 * complete and its byte counts have a baseline (ESTABLISHED, or first sight
 * after it); TCP_REC_DEAD marks an entry its destroy failed to delete.
 */
struct tcp_sock_rec {
	struct conn_tuple tup;                     /* pid 0 */
	struct tcp_stats tcp;
	struct conn_stats slots[CONN_MAX_PIDS];
	__u32 pids[CONN_MAX_PIDS];
	__u8 nslots;
	__u8 live;
	__u8 _pad0[6];
};
TRACER_ABI_SIZE(tcp_sock_rec, 352);
TRACER_ABI_OFFSET(tcp_sock_rec, tup, 0);
TRACER_ABI_OFFSET(tcp_sock_rec, tcp, 48);
TRACER_ABI_OFFSET(tcp_sock_rec, slots, 72);
TRACER_ABI_OFFSET(tcp_sock_rec, pids, 328);
TRACER_ABI_OFFSET(tcp_sock_rec, nslots, 344);
TRACER_ABI_OFFSET(tcp_sock_rec, live, 345);
TRACER_ABI_OFFSET(tcp_sock_rec, _pad0, 346);

/* A closed connection: the close record (144 bytes). */
struct conn {
	struct conn_tuple tup;
	struct conn_stats conn_stats;
	struct tcp_stats tcp_stats; /* zero for UDP */
	__u8 reason;                /* enum conn_close_reason */
	__u8 _pad0[7];
};
TRACER_ABI_SIZE(conn, 144);
TRACER_ABI_OFFSET(conn, tup, 0);
TRACER_ABI_OFFSET(conn, conn_stats, 48);
TRACER_ABI_OFFSET(conn, tcp_stats, 112);
TRACER_ABI_OFFSET(conn, reason, 136);
TRACER_ABI_OFFSET(conn, _pad0, 137);

/*
 * Per-CPU batch of close records (perf buffer transport), sent whole from
 * its per-CPU map value when full (592 bytes). Slots are separate fields,
 * not an array: older verifiers reject runtime-indexed writes into a map value.
 */
struct batch {
	struct conn c0;
	struct conn c1;
	struct conn c2;
	struct conn c3;
	__u16 len;    /* filled slots, 0..CONN_CLOSED_BATCH_SIZE */
	__u8 _pad0[6];
	__u64 id;     /* per-CPU generation, incremented on every full flush */
};
TRACER_ABI_SIZE(batch, 592);
TRACER_ABI_OFFSET(batch, c0, 0);
TRACER_ABI_OFFSET(batch, c1, 144);
TRACER_ABI_OFFSET(batch, c2, 288);
TRACER_ABI_OFFSET(batch, c3, 432);
TRACER_ABI_OFFSET(batch, len, 576);
TRACER_ABI_OFFSET(batch, _pad0, 578);
TRACER_ABI_OFFSET(batch, id, 584);
_Static_assert(CONN_CLOSED_BATCH_SIZE * sizeof(struct conn) == __builtin_offsetof(struct batch, len),
	       "struct batch must hold CONN_CLOSED_BATCH_SIZE slots back to back");

/* A listening TCP port or bound UDP port in one network namespace: the key
 * of the port bindings map (8 bytes; value: a __u8, 1). Seeded from
 * /proc/<pid>/net/{tcp,tcp6,udp,udp6} at start, then kept by the kernel side. */
struct port_binding {
	__u32 netns;
	__u16 port;     /* host order */
	__u8 protocol;  /* IPPROTO_TCP (6) or IPPROTO_UDP (17) */
	__u8 _pad0;
};
TRACER_ABI_SIZE(port_binding, 8);
TRACER_ABI_OFFSET(port_binding, netns, 0);
TRACER_ABI_OFFSET(port_binding, port, 4);
TRACER_ABI_OFFSET(port_binding, protocol, 6);
TRACER_ABI_OFFSET(port_binding, _pad0, 7);

/* Tracer health counters, one entry of a per-CPU array map (summed by
 * userspace). Nothing is dropped without one of these moving. */
struct telemetry {
	__u64 conn_stats_full;    /* conn_stats map full: a connection was not counted */
	__u64 sock_state_full;    /* per-socket state map full: a TCP socket was not followed */
	__u64 read_failed;        /* a kernel or user memory read failed */
	__u64 closed_lost;        /* a close record could not be sent (ring buffer full / perf output failed) */
	__u64 closed_sent;        /* close records sent */
	__u64 batch_flushes;      /* full batches sent (perf transport) */
	__u64 pids_overflow;      /* a socket used by more processes than tracked: bytes went to the last one */
	__u64 udp_addr_missing;   /* unconnected UDP datagram whose peer address could not be seen */
	__u64 tcp_seen_late;      /* TCP connections first seen after they were opened */
	__u64 sock_state_delete_failed; /* a destroyed socket's entry could not be deleted: left TCP_REC_DEAD */
	__u64 tcp_entry_replaced; /* a TCP socket's birth (connect, a listener's child) found an entry at its address:
				   * of a socket whose destroy was never seen, or of this one before it connected
				   * again. Its records were sent closed (CONN_CLOSE_EXPIRED, or _FAILED) */
};
TRACER_ABI_SIZE(telemetry, 88);
TRACER_ABI_OFFSET(telemetry, conn_stats_full, 0);
TRACER_ABI_OFFSET(telemetry, sock_state_full, 8);
TRACER_ABI_OFFSET(telemetry, read_failed, 16);
TRACER_ABI_OFFSET(telemetry, closed_lost, 24);
TRACER_ABI_OFFSET(telemetry, closed_sent, 32);
TRACER_ABI_OFFSET(telemetry, batch_flushes, 40);
TRACER_ABI_OFFSET(telemetry, pids_overflow, 48);
TRACER_ABI_OFFSET(telemetry, udp_addr_missing, 56);
TRACER_ABI_OFFSET(telemetry, tcp_seen_late, 64);
TRACER_ABI_OFFSET(telemetry, sock_state_delete_failed, 72);
TRACER_ABI_OFFSET(telemetry, tcp_entry_replaced, 80);

/* One pointer the guesser follows: the pointer at `ptr_off` of the socket
 * (or of the call's other object), `len` bytes read from it + `add` (what
 * lies on a kernel stack must not be read past the stack's end). */
struct guess_deref {
	__u32 flags;   /* enum guess_deref_flags */
	__u32 ptr_off;
	__u32 add;
	__u32 len;     /* 1..GUESS_DEREF_BYTES; 0: GUESS_DEREF_BYTES */
};
TRACER_ABI_SIZE(guess_deref, 16);
TRACER_ABI_OFFSET(guess_deref, flags, 0);
TRACER_ABI_OFFSET(guess_deref, ptr_off, 4);
TRACER_ABI_OFFSET(guess_deref, add, 8);
TRACER_ABI_OFFSET(guess_deref, len, 12);

/*
 * The offset guesser's mailbox (map `guess_mailbox`, one entry), written by
 * userspace before it makes the call that is to be captured: the thread to
 * watch, as numbered in the guesser's own pid namespace (never a process
 * name, never a tuple: that is what is being found), the kinds of capture
 * allowed, and the pointers to follow. The first matching hit takes the
 * capture and clears `what` (one hit per arming).
 */
struct guess_mailbox {
	__u32 tid;     /* thread id in the guesser's pid namespace; 0: disarmed */
	__u32 what;    /* enum guess_what bits */
	__u64 seq;     /* the arming's number, copied into the capture */
	struct guess_deref deref[GUESS_DEREFS];
};
TRACER_ABI_SIZE(guess_mailbox, 272);
TRACER_ABI_OFFSET(guess_mailbox, tid, 0);
TRACER_ABI_OFFSET(guess_mailbox, what, 4);
TRACER_ABI_OFFSET(guess_mailbox, seq, 8);
TRACER_ABI_OFFSET(guess_mailbox, deref, 16);

/* One capture (map `guess_capture`, one entry): the raw bytes userspace searches. */
struct guess_capture {
	__u64 seq;         /* guess_mailbox.seq of the arming that took it */
	__u64 sk;          /* the socket's kernel address (0 for GUESS_SOCKET) */
	__u64 arg;         /* the other object's kernel address, or 0 */
	__u32 what;        /* the enum guess_what of this capture */
	__u32 sk_faults;   /* bit i: chunk i of sk_bytes could not be read (zeroed) */
	__u32 arg_fault;   /* 1: arg_bytes could not be read */
	__u32 deref_faults; /* bit i: deref[i] could not be read */
	__u8 sk_bytes[GUESS_SK_BYTES];
	__u8 arg_bytes[GUESS_ARG_BYTES];
	__u8 deref[GUESS_DEREFS * GUESS_DEREF_BYTES];
};
TRACER_ABI_SIZE(guess_capture, 12840);
TRACER_ABI_OFFSET(guess_capture, seq, 0);
TRACER_ABI_OFFSET(guess_capture, sk, 8);
TRACER_ABI_OFFSET(guess_capture, arg, 16);
TRACER_ABI_OFFSET(guess_capture, what, 24);
TRACER_ABI_OFFSET(guess_capture, sk_faults, 28);
TRACER_ABI_OFFSET(guess_capture, arg_fault, 32);
TRACER_ABI_OFFSET(guess_capture, deref_faults, 36);
TRACER_ABI_OFFSET(guess_capture, sk_bytes, 40);
TRACER_ABI_OFFSET(guess_capture, arg_bytes, 4136);
TRACER_ABI_OFFSET(guess_capture, deref, 4648);

#endif /* TRACER_BPF_ABI_H */
