// SPDX-License-Identifier: GPL-2.0
/* The loader's test object: counts real TCP traffic on one port, so that the
 * loader's attach, map and global-variable paths run on real kernels.
 *
 * Loaded by default (every supported kernel):
 *   count_state      tracepoint sock/inet_sock_set_state  -> state keys (kind 1)
 *   count_state_btf  tp_btf inet_sock_set_state           -> state keys (kind 2)
 * Byte counters, one backend at a time (SEC("?...") = not loaded unless chosen):
 *   tp_btf   count_send, count_recv             sock_send_length / sock_recv_length (6.3+)
 *   fentry   fexit_send, fentry_recv            tcp_sendmsg return / tcp_cleanup_rbuf
 *   kprobe   kprobe_send, kretprobe_send, kprobe_recv   the same with kprobes
 * All backends write the same byte keys (kind 0). */
#include <linux/bpf.h>
#include <asm/ptrace.h> /* uapi struct pt_regs, for BPF_KPROBE */
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "loader_test.h"
#include "sock_core.h"

#define AF_INET 2
#define AF_INET6 10
#define TCP_ESTABLISHED 1
#define TCP_CLOSE 7

/* Set by name from userspace before load. */
const volatile __u16 target_port = 0;   /* 0: any port */
const volatile __u32 target_family = 0; /* 0: any */
const volatile __s64 signed_knob = 0;   /* only for the loader's type checks */
const volatile _Bool enabled = 1;
const volatile char tag[16] = "";

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct lt_flow_key);
	__type(value, struct lt_flow_value);
} flows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64); /* [0]: send calls, [1]: recv calls */
} calls SEC(".maps");

/* Filled from userspace for the map benchmark and batch tests; sized with setMaxEntries. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__type(key, struct lt_flow_key);
	__type(value, struct lt_flow_value);
} bench SEC(".maps");

static __always_inline struct lt_flow_value *flow_get(struct lt_flow_key *key)
{
	struct lt_flow_value *v = bpf_map_lookup_elem(&flows, key);
	if (v)
		return v;
	struct lt_flow_value zero = {};
	bpf_map_update_elem(&flows, key, &zero, BPF_NOEXIST);
	return bpf_map_lookup_elem(&flows, key);
}

static __always_inline int key_from_sock(struct sock *sk, struct lt_flow_key *key)
{
	__u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);
	if (family != AF_INET && family != AF_INET6)
		return -1;
	if (target_family && family != target_family)
		return -1;
	key->family = family;
	key->protocol = BPF_CORE_READ(sk, sk_protocol);
	key->sport = bpf_ntohs(BPF_CORE_READ((struct inet_sock *)sk, inet_sport));
	key->dport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	if (target_port && key->sport != target_port && key->dport != target_port)
		return -1;
	if (family == AF_INET) {
		bpf_core_read(key->saddr, 4, &sk->__sk_common.skc_rcv_saddr);
		bpf_core_read(key->daddr, 4, &sk->__sk_common.skc_daddr);
	} else {
		bpf_core_read(key->saddr, 16, &sk->__sk_common.skc_v6_rcv_saddr);
		bpf_core_read(key->daddr, 16, &sk->__sk_common.skc_v6_daddr);
	}
	return 0;
}

static __always_inline void count_bytes(struct sock *sk, int ret, int dir)
{
	struct lt_flow_key key = {};
	if (!enabled || ret <= 0 || key_from_sock(sk, &key))
		return;
	struct lt_flow_value *v = flow_get(&key);
	if (!v)
		return;
	__u32 idx = dir;
	__u64 *c = bpf_map_lookup_elem(&calls, &idx);
	if (c)
		*c += 1;
	if (dir == 0) {
		__sync_fetch_and_add(&v->sent_bytes, ret);
		__sync_fetch_and_add(&v->sent_calls, 1);
	} else {
		__sync_fetch_and_add(&v->recv_bytes, ret);
		__sync_fetch_and_add(&v->recv_calls, 1);
	}
}

SEC("?tp_btf/sock_send_length")
int BPF_PROG(count_send, struct sock *sk, int ret, int flags)
{
	count_bytes(sk, ret, 0);
	return 0;
}

SEC("?tp_btf/sock_recv_length")
int BPF_PROG(count_recv, struct sock *sk, int ret, int flags)
{
	if (flags & 2 /* MSG_PEEK */)
		return 0;
	count_bytes(sk, ret, 1);
	return 0;
}

/* fentry backend: tcp_sendmsg's return value is the bytes it queued;
 * tcp_cleanup_rbuf(sk, copied) runs after every read with the bytes copied. */
SEC("?fexit/tcp_sendmsg")
int BPF_PROG(fexit_send, struct sock *sk, void *msg, __u64 size, int ret)
{
	count_bytes(sk, ret, 0);
	return 0;
}

SEC("?fentry/tcp_cleanup_rbuf")
int BPF_PROG(fentry_recv, struct sock *sk, int copied)
{
	count_bytes(sk, copied, 1);
	return 0;
}

/* kprobe backend: the socket is stashed at entry, the return value read at exit. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);   /* pid_tgid */
	__type(value, __u64); /* struct sock * */
} send_socks SEC(".maps");

SEC("?kprobe/tcp_sendmsg")
int BPF_KPROBE(kprobe_send, struct sock *sk)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u64 p = (__u64)sk;
	bpf_map_update_elem(&send_socks, &id, &p, BPF_ANY);
	return 0;
}

SEC("?kretprobe/tcp_sendmsg")
int BPF_KRETPROBE(kretprobe_send, int ret)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u64 *p = bpf_map_lookup_elem(&send_socks, &id);
	if (!p)
		return 0;
	struct sock *sk = (struct sock *)*p;
	bpf_map_delete_elem(&send_socks, &id);
	count_bytes(sk, ret, 0);
	return 0;
}

SEC("?kprobe/tcp_cleanup_rbuf")
int BPF_KPROBE(kprobe_recv, struct sock *sk, int copied)
{
	count_bytes(sk, copied, 1);
	return 0;
}

static __always_inline void count_transition(struct lt_flow_key *key, int newstate)
{
	struct lt_flow_value *v = flow_get(key);
	if (!v)
		return;
	if (newstate == TCP_ESTABLISHED)
		__sync_fetch_and_add(&v->established, 1);
	else
		__sync_fetch_and_add(&v->closed, 1);
}

/* The same transitions from the BTF-typed raw tracepoint (every kernel with BTF). */
SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(count_state_btf, struct sock *sk, int oldstate, int newstate)
{
	if (!enabled || (newstate != TCP_ESTABLISHED && newstate != TCP_CLOSE))
		return 0;
	struct lt_flow_key key = {};
	if (key_from_sock(sk, &key) || key.protocol != 6 /* IPPROTO_TCP */)
		return 0;
	key.kind = 2;
	count_transition(&key, newstate);
	return 0;
}

/* The classic tracepoint record sock:inet_sock_set_state is read at field
 * offsets taken from tracefs `format` at load time (set by name before load):
 * its layout is no ABI (a PREEMPT_RT build has another common header). */
const volatile __u32 tp_off_newstate = 0;
const volatile __u32 tp_off_sport = 0;
const volatile __u32 tp_off_dport = 0;
const volatile __u32 tp_off_family = 0;
const volatile __u32 tp_off_protocol = 0;
const volatile __u32 tp_off_saddr = 0;
const volatile __u32 tp_off_daddr = 0;
const volatile __u32 tp_off_saddr_v6 = 0;
const volatile __u32 tp_off_daddr_v6 = 0;

#define TP_FIELD(ctx, off, dst) bpf_probe_read_kernel(&(dst), sizeof(dst), (void *)(ctx) + (off))

SEC("tracepoint/sock/inet_sock_set_state")
int count_state(void *ctx)
{
	__u16 protocol = 0, family = 0, sport = 0, dport = 0;
	int newstate = 0;
	if (!enabled || !tp_off_newstate)
		return 0;
	TP_FIELD(ctx, tp_off_protocol, protocol);
	TP_FIELD(ctx, tp_off_family, family);
	TP_FIELD(ctx, tp_off_sport, sport);
	TP_FIELD(ctx, tp_off_dport, dport);
	TP_FIELD(ctx, tp_off_newstate, newstate);
	if (protocol != 6 /* IPPROTO_TCP */)
		return 0;
	if (target_port && sport != target_port && dport != target_port)
		return 0;
	if (target_family && family != target_family)
		return 0;
	if (newstate != TCP_ESTABLISHED && newstate != TCP_CLOSE)
		return 0;
	struct lt_flow_key key = {};
	key.kind = 1;
	key.family = family;
	key.protocol = protocol;
	key.sport = sport;
	key.dport = dport;
	if (family == AF_INET) {
		bpf_probe_read_kernel(key.saddr, 4, (void *)ctx + tp_off_saddr);
		bpf_probe_read_kernel(key.daddr, 4, (void *)ctx + tp_off_daddr);
	} else {
		bpf_probe_read_kernel(key.saddr, 16, (void *)ctx + tp_off_saddr_v6);
		bpf_probe_read_kernel(key.daddr, 16, (void *)ctx + tp_off_daddr_v6);
	}
	count_transition(&key, newstate);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
