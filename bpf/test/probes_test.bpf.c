// SPDX-License-Identifier: GPL-2.0
/* kprobe / kretprobe / fentry / fexit programs on tcp_sendmsg, for the
 * loader's attach paths and errors (kprobes and fentry are refused on the
 * development host and run on the kernel matrix). */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64); /* hits: [0] kprobe [1] kretprobe [2] fentry [3] fexit */
} hits SEC(".maps");

const volatile __u32 target_tgid = 0;

static __always_inline void hit(__u32 idx)
{
	if (target_tgid && (bpf_get_current_pid_tgid() >> 32) != target_tgid)
		return;
	__u64 *v = bpf_map_lookup_elem(&hits, &idx);
	if (v)
		__sync_fetch_and_add(v, 1);
}

SEC("kprobe/tcp_sendmsg")
int BPF_KPROBE(kprobe_sendmsg)
{
	hit(0);
	return 0;
}

SEC("kretprobe/tcp_sendmsg")
int BPF_KRETPROBE(kretprobe_sendmsg)
{
	hit(1);
	return 0;
}

SEC("fentry/tcp_sendmsg")
int BPF_PROG(fentry_sendmsg)
{
	hit(2);
	return 0;
}

SEC("fexit/tcp_sendmsg")
int BPF_PROG(fexit_sendmsg)
{
	hit(3);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
