// SPDX-License-Identifier: GPL-2.0
// Maps sized at run time (as bcc's capable / offcputime / profile size their
// stack trace maps), a classic tracepoint program cheap enough to load 65
// copies of (the kernel's per-tracepoint limit is 64), and a program whose
// section names a tracepoint no kernel has (attachAll reports it).
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

/* No value size and no max entries: both set with setValueSize / setMaxEntries. */
struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(key_size, sizeof(__u32));
} stacks SEC(".maps");

/* No key or value size (and no BTF types): setKeySize / setValueSize. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16);
} sized SEC(".maps");

SEC("tracepoint/syscalls/sys_enter_getppid")
int on_getppid(void *ctx)
{
	return 0;
}

SEC("tracepoint/sock/no_such_tracepoint")
int missing_tp(void *ctx)
{
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
