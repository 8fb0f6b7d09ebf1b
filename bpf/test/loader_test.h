/* Layouts used only by the loader's own tests and benchmark (not the tracer ABI). */
#ifndef TRACER_BPF_LOADER_TEST_H
#define TRACER_BPF_LOADER_TEST_H

#include <linux/types.h>

/* 48 bytes: one TCP/UDP 4-tuple as the test programs see it. */
struct lt_flow_key {
	__u8 saddr[16];
	__u8 daddr[16];
	__u16 sport; /* host order */
	__u16 dport; /* host order */
	__u16 family;
	__u16 protocol;
	__u32 kind; /* 0: bytes (any backend); 1: state transitions (tracepoint); 2: state transitions (tp_btf) */
	__u32 pad;
};

/* 48 bytes of counters. */
struct lt_flow_value {
	__u64 sent_bytes;
	__u64 recv_bytes;
	__u64 sent_calls;
	__u64 recv_calls;
	__u64 established; /* transitions into TCP_ESTABLISHED */
	__u64 closed;      /* transitions into TCP_CLOSE */
};

/* 32 bytes: one record written into the ring or perf buffer. */
struct lt_record {
	__u64 seq;
	__u32 cpu;
	__u32 run;
	__u64 magic;
	__u64 pad;
};

#define LT_RECORD_MAGIC 0x7472616365725f62ULL /* "tracer_b" */

enum lt_stat {
	LT_STAT_PRODUCED = 0,
	LT_STAT_FAILED = 1,
	LT_STAT_MAX = 2,
};

_Static_assert(sizeof(struct lt_flow_key) == 48, "lt_flow_key is 48 bytes");
_Static_assert(sizeof(struct lt_flow_value) == 48, "lt_flow_value is 48 bytes");
_Static_assert(sizeof(struct lt_record) == 32, "lt_record is 32 bytes");

#endif
