// SPDX-License-Identifier: GPL-2.0
/* A loss injector for tests (the host kernel has no sch_netem): an XDP
 * program for generic XDP on lo,
 *
 *   ip link set dev lo xdpgeneric obj obj/test/drop_test.bpf.o sec xdp
 *   ip link set dev lo xdpgeneric off
 *
 * that drops the first DROP_PER_FLOW TCP segments carrying payload of every
 * flow (IPv4 or IPv6) whose destination port is in [DROP_PORT_LO,
 * DROP_PORT_HI], and passes everything else. Flows are keyed by their
 * 4-tuple in a small LRU map (`drop_flows`, value: segments seen so far).
 * The range sits below the default ephemeral range (32768-60999), so no
 * other connection's client port falls into it. IPv6 extension headers and
 * IPv4 fragments are passed untouched. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define DROP_PORT_LO 29800
#define DROP_PORT_HI 29899
#define DROP_PER_FLOW 2

struct drop_flow {
	__u32 saddr[4];
	__u32 daddr[4];
	__u16 sport;
	__u16 dport;
	__u32 family;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, struct drop_flow);
	__type(value, __u64);
} drop_flows SEC(".maps");

/* Segments dropped, for a look with bpftool. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} drop_total SEC(".maps");

static __always_inline int drop_first(struct drop_flow *f)
{
	__u64 zero64 = 0;
	__u64 *seen = bpf_map_lookup_elem(&drop_flows, f);
	if (!seen) {
		bpf_map_update_elem(&drop_flows, f, &zero64, BPF_NOEXIST);
		seen = bpf_map_lookup_elem(&drop_flows, f);
		if (!seen)
			return XDP_PASS;
	}
	__sync_fetch_and_add(seen, 1);
	if (*seen > DROP_PER_FLOW)
		return XDP_PASS;
	__u32 zero = 0;
	__u64 *total = bpf_map_lookup_elem(&drop_total, &zero);
	if (total)
		__sync_fetch_and_add(total, 1);
	return XDP_DROP;
}

SEC("xdp")
int xdp_drop_first(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct drop_flow f = {};
	struct tcphdr *tcp;
	__u32 l4len;

	if ((void *)(eth + 1) > end)
		return XDP_PASS;
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = (void *)(eth + 1);
		if ((void *)(ip + 1) > end || ip->protocol != IPPROTO_TCP || ip->ihl < 5)
			return XDP_PASS;
		if (ip->frag_off & bpf_htons(0x3fff)) /* MF or an offset: a fragment */
			return XDP_PASS;
		__u32 iplen = bpf_ntohs(ip->tot_len), hlen = ip->ihl * 4;
		if (iplen < hlen)
			return XDP_PASS;
		tcp = (void *)ip + hlen;
		l4len = iplen - hlen;
		f.saddr[0] = ip->saddr;
		f.daddr[0] = ip->daddr;
		f.family = 4;
	} else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);
		if ((void *)(ip6 + 1) > end || ip6->nexthdr != IPPROTO_TCP)
			return XDP_PASS;
		tcp = (void *)(ip6 + 1);
		l4len = bpf_ntohs(ip6->payload_len);
		__builtin_memcpy(f.saddr, &ip6->saddr, 16);
		__builtin_memcpy(f.daddr, &ip6->daddr, 16);
		f.family = 6;
	} else {
		return XDP_PASS;
	}
	if ((void *)(tcp + 1) > end)
		return XDP_PASS;
	__u16 dport = bpf_ntohs(tcp->dest);
	if (dport < DROP_PORT_LO || dport > DROP_PORT_HI)
		return XDP_PASS;
	/* Lengths come from the IP header: a GSO packet on lo is one frame of
	 * up to 64 KiB. (BIG TCP frames, tot_len 0 or a jumbo option, pass.) */
	if (l4len <= (__u32)tcp->doff * 4)
		return XDP_PASS;
	f.sport = tcp->source;
	f.dport = tcp->dest;
	return drop_first(&f);
}

char LICENSE[] SEC("license") = "GPL";
