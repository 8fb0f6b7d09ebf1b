// SPDX-License-Identifier: GPL-2.0
/* What single operations cost inside a BPF program on this kernel and
 * machine (tools/bench/bpf-op-cost.mjs): each program, on
 * tp_btf/sock_send_length, does one thing and nothing else; the benchmark
 * attaches one at a time, drives UDP sends, and reads run_time_ns per run.
 * Differences to `empty` are the operation's cost. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct key48 {
	__u64 w[6];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u64);
	__type(value, __u64[8]);
} hash8 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct key48);
	__type(value, __u64[8]);
} hash48 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 1024);
	__type(key, __u64);
	__type(value, __u64);
} pcpu_hash8 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64[8]);
} pcpu_array SEC(".maps");

/* Results land here so that nothing is optimised away. */
__u64 sink = 0;

#define OP(name) SEC("?tp_btf/sock_send_length") int name(__u64 *ctx)

OP(empty)
{
	sink += 1;
	return 0;
}

OP(ktime_get_ns)
{
	sink += bpf_ktime_get_ns();
	return 0;
}

OP(jiffies64)
{
	sink += bpf_jiffies64();
	return 0;
}

OP(get_current_pid_tgid)
{
	sink += bpf_get_current_pid_tgid();
	return 0;
}

OP(probe_read_8)
{
	__u64 v = 0;
	bpf_probe_read_kernel(&v, sizeof(v), (const void *)ctx[0]);
	sink += v;
	return 0;
}

OP(probe_read_128)
{
	__u64 b[16];
	bpf_probe_read_kernel(b, sizeof(b), (const void *)ctx[0]);
	sink += b[3];
	return 0;
}

OP(get_socket_cookie)
{
	sink += bpf_get_socket_cookie((void *)ctx[0]);
	return 0;
}

OP(percpu_array_add)
{
	__u32 zero = 0;
	__u64 *v = bpf_map_lookup_elem(&pcpu_array, &zero);
	if (v)
		__sync_fetch_and_add(v, 1);
	return 0;
}

/* Lookup (insert on a miss) and two counter adds, as a flow's sent bytes and packets. */
OP(hash_key8_add)
{
	__u64 k = ctx[0];
	__u64 *v = bpf_map_lookup_elem(&hash8, &k);
	if (!v) {
		__u64 z[8] = {};
		bpf_map_update_elem(&hash8, &k, &z, BPF_NOEXIST);
		return 0;
	}
	__sync_fetch_and_add(&v[0], 1);
	__sync_fetch_and_add(&v[1], 64);
	return 0;
}

OP(hash_key8_add_twice)
{
	__u64 k = ctx[0];
	__u64 *v = bpf_map_lookup_elem(&hash8, &k);
	if (!v) {
		__u64 z[8] = {};
		bpf_map_update_elem(&hash8, &k, &z, BPF_NOEXIST);
		return 0;
	}
	__sync_fetch_and_add(&v[0], 1);
	v = bpf_map_lookup_elem(&hash8, &k);
	if (v)
		__sync_fetch_and_add(&v[1], 64);
	return 0;
}

OP(hash_key48_add)
{
	struct key48 k = {};
	k.w[0] = ctx[0];
	k.w[5] = 7;
	__u64 *v = bpf_map_lookup_elem(&hash48, &k);
	if (!v) {
		__u64 z[8] = {};
		bpf_map_update_elem(&hash48, &k, &z, BPF_NOEXIST);
		return 0;
	}
	__sync_fetch_and_add(&v[0], 1);
	__sync_fetch_and_add(&v[1], 64);
	return 0;
}

/* bpftrace's `@[args->sk] = sum(args->ret)`: a per-CPU hash keyed by the socket. */
OP(percpu_hash_key8_sum)
{
	__u64 k = ctx[0];
	__u64 *v = bpf_map_lookup_elem(&pcpu_hash8, &k);
	if (!v) {
		__u64 z = 0;
		bpf_map_update_elem(&pcpu_hash8, &k, &z, BPF_NOEXIST);
		return 0;
	}
	*v += 64;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
