// SPDX-License-Identifier: GPL-2.0
/* The loader's ring buffer and perf buffer test object. Both programs are run
 * with BPF_PROG_TEST_RUN (raw tracepoint context: ctx[0] = records to write,
 * ctx[1] = run number), so the number and order of records is exact. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "loader_test.h"

#define MAX_PER_RUN 64

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 * 1024);
} ring SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} perf SEC(".maps");

/* [0] produced, [1] failed: per program, so the ring and perf tests can't mix. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, LT_STAT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} ring_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, LT_STAT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} perf_stats SEC(".maps");

__u64 ring_seq = 0;
__u64 perf_seq = 0;

static __always_inline void bump(void *stats, __u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(stats, &idx);
	if (v)
		__sync_fetch_and_add(v, 1);
}

SEC("raw_tp")
int produce_ring(__u64 *ctx)
{
	__u64 n = ctx[0];
	__u32 run = ctx[1];
	for (int i = 0; i < MAX_PER_RUN; i++) {
		if (i >= n)
			break;
		/* Runs are serialized by the test (one BPF_PROG_TEST_RUN at a time), and
		 * a fetching atomic add needs 5.12+: a plain increment is exact here. */
		__u64 seq = ring_seq++;
		bump(&ring_stats, LT_STAT_PRODUCED);
		struct lt_record *r = bpf_ringbuf_reserve(&ring, sizeof(*r), 0);
		if (!r) {
			bump(&ring_stats, LT_STAT_FAILED);
			continue;
		}
		r->seq = seq;
		r->cpu = bpf_get_smp_processor_id();
		r->run = run;
		r->magic = LT_RECORD_MAGIC;
		r->pad = 0;
		bpf_ringbuf_submit(r, 0);
	}
	return 0;
}

SEC("raw_tp")
int produce_perf(__u64 *ctx)
{
	__u64 n = ctx[0];
	__u32 run = ctx[1];
	for (int i = 0; i < MAX_PER_RUN; i++) {
		if (i >= n)
			break;
		struct lt_record r = {};
		r.seq = perf_seq++;
		r.cpu = bpf_get_smp_processor_id();
		r.run = run;
		r.magic = LT_RECORD_MAGIC;
		bump(&perf_stats, LT_STAT_PRODUCED);
		if (bpf_perf_event_output(ctx, &perf, BPF_F_CURRENT_CPU, &r, sizeof(r)))
			bump(&perf_stats, LT_STAT_FAILED);
	}
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
