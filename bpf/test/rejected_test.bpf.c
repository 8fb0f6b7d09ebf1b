// SPDX-License-Identifier: GPL-2.0
/* Programs the verifier must reject, each for its own reason, so the loader's
 * verifier errors and per-load log routing can be tested. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} values SEC(".maps");

/* Dereferences a map lookup result without the NULL check. */
SEC("raw_tp")
int reject_null_deref(void *ctx)
{
	__u32 k = 0;
	__u64 *v = bpf_map_lookup_elem(&values, &k);
	return *(volatile __u64 *)v;
}

/* Reads the context past its end. */
SEC("raw_tp")
int reject_ctx_oob(__u64 *ctx)
{
	return ctx[4096];
}

/* A valid program, to load next to a rejected one. */
SEC("raw_tp")
int accept_ok(void *ctx)
{
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
