/* SPDX-License-Identifier: GPL-2.0 */
/* Reading kernel structs without kernel headers: every offset is a
 * `const volatile` global set by userspace before load, from the running
 * kernel's BTF or from offset guessing. No CO-RE, no vmlinux.h: the same
 * object runs with either source. */
#ifndef TRACER_BPF_KERNEL_H
#define TRACER_BPF_KERNEL_H

#include <linux/types.h>
#include <bpf/bpf_helpers.h>

#define AF_INET 2
#define AF_INET6 10
#define IPPROTO_TCP 6
#define IPPROTO_UDP 17
#define MSG_PEEK 2
#define MSG_ERRQUEUE 0x2000
#define RCV_SHUTDOWN 1

/* struct sock_common / struct sock / struct inet_sock */
const volatile __u32 off_skc_family = 0;        /* unsigned short */
const volatile __u32 off_skc_state = 0;         /* unsigned char */
const volatile __u32 off_skc_rcv_saddr = 0;     /* __be32 */
const volatile __u32 off_skc_daddr = 0;         /* __be32 */
const volatile __u32 off_skc_dport = 0;         /* __be16 */
const volatile __u32 off_skc_v6_rcv_saddr = 0;  /* struct in6_addr */
const volatile __u32 off_skc_v6_daddr = 0;      /* struct in6_addr */
const volatile __u32 off_skc_net = 0;           /* possible_net_t: struct net * */
const volatile __u32 off_net_ns_inum = 0;       /* struct net: ns.inum (unsigned int) */
const volatile __u32 off_inet_sport = 0;        /* struct inet_sock: __be16 */
/* Fields that are bitfields on some kernels: bit offset in struct sock and width. */
const volatile __u32 bitoff_sk_protocol = 0;
const volatile __u32 bits_sk_protocol = 0;
const volatile __u32 bitoff_sk_shutdown = 0;
const volatile __u32 bits_sk_shutdown = 0;
/* struct tcp_sock */
const volatile __u32 off_tcp_write_seq = 0;
const volatile __u32 off_tcp_snd_una = 0;
const volatile __u32 off_tcp_bytes_acked = 0;   /* u64 */
const volatile __u32 off_tcp_copied_seq = 0;
const volatile __u32 off_tcp_rcv_nxt = 0;
const volatile __u32 off_tcp_bytes_received = 0; /* u64 */
const volatile __u32 off_tcp_srtt_us = 0;
const volatile __u32 off_tcp_mdev_us = 0;
const volatile __u32 off_tcp_total_retrans = 0;
const volatile __u32 off_tcp_segs_in = 0;
const volatile __u32 off_tcp_segs_out = 0;

/* The hot path reads the head of struct sock_common in one go: when
 * head_ok, every skc_* offset above (and skc_num, skc_prot) lies inside its
 * first SK_HEAD bytes; else each field is read on its own. */
#define SK_HEAD 128
const volatile __u8 head_ok = 0;
const volatile __u32 off_skc_num = 0;   /* __u16, host order (the bound local port) */
const volatile __u32 off_skc_prot = 0;  /* struct proto * */
/* &tcp_prot, &tcpv6_prot, &udp_prot, &udpv6_prot from /proc/kallsyms: the
 * protocol of a socket is then its skc_prot, already in the head (no
 * sk_protocol read). 0: unknown, sk_protocol is read instead. */
const volatile __u64 prot_tcp = 0;
const volatile __u64 prot_tcpv6 = 0;
const volatile __u64 prot_udp = 0;
const volatile __u64 prot_udpv6 = 0;

/* Set to 1 by userspace once the offsets above are filled: nothing runs before. */
const volatile __u8 offsets_ready = 0;

#define KREAD(dst, base, off) bpf_probe_read_kernel(&(dst), sizeof(dst), (const void *)(base) + (off))

/* Direct loads through a BTF-typed pointer (tp_btf: the verifier checks each
 * offset against the pointer's type, and the JIT makes a plain load that
 * cannot fault) instead of a bpf_probe_read_kernel() call each: the hot path
 * of the tp_btf backend uses them when userspace sets direct_loads (and the
 * verifier accepts them); tcp_sock fields through bpf_skc_to_tcp_sock(). */
const volatile __u8 direct_loads = 0;
#define DLOAD(T, base, off) (*(volatile T *)((const char *)(base) + (off)))

/* A field of up to 24 bits at a bit offset (bitfield or not). */
static __always_inline __u32 read_bits(const void *base, __u32 bitoff, __u32 bits, int *err)
{
	__u32 word = 0;
	*err |= bpf_probe_read_kernel(&word, sizeof(word), base + (bitoff >> 3));
	word >>= (bitoff & 7);
	if (bits >= 32)
		return word;
	return word & ((1U << bits) - 1);
}

#endif
