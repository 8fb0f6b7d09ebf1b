/* Minimal CO-RE views of kernel socket structs: field names only, no kernel headers.
 * libbpf relocates every access against the running kernel's BTF at load time. */
#ifndef TRACER_BPF_SOCK_CORE_H
#define TRACER_BPF_SOCK_CORE_H

#include <linux/types.h>

struct in6_addr___core {
	__u8 s6_addr[16];
};

struct sock_common {
	__be32 skc_daddr;
	__be32 skc_rcv_saddr;
	__be16 skc_dport;
	__u16 skc_num;
	unsigned short skc_family;
	struct in6_addr___core skc_v6_daddr;
	struct in6_addr___core skc_v6_rcv_saddr;
} __attribute__((preserve_access_index));

struct sock {
	struct sock_common __sk_common;
	__u16 sk_protocol;
} __attribute__((preserve_access_index));

/* The bound source port (network order). Unlike skc_num it survives
 * inet_put_port(), which zeroes skc_num before the final TCP_CLOSE transition
 * is traced on recent kernels (seen on 6.18). */
struct inet_sock {
	__be16 inet_sport;
} __attribute__((preserve_access_index));

#endif
