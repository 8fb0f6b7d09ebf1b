// Golden records for @tracer-bpf/decode, written from the ABI header by the
// host compiler. Every field of every record holds a different value: 64-bit
// values above 2^53 and with the top bit set, 32-bit values with the top bit
// set, IPv6 addresses with non-zero high halves, an IPv4-mapped IPv6 tuple,
// and non-zero padding next to every byte field of the records that are not
// map keys (so a decoder that reads a neighbour's bits is caught). Map keys
// (conn_tuple, port_binding) are zeroed first, as the tracer writes them.
// Prints one JSON document:
//   { "records": [ { name, struct, hex, fields, text? } ],
//     "ipv6": [ { hex, text } ] }   (inet_ntop's text of many IPv6 addresses)
// where `fields` is every field (nested structs nested, arrays as arrays) as
// C reads it, 64-bit values as decimal strings.
#define _DEFAULT_SOURCE
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include "tracer_bpf/abi.h"

static void hex(const void *p, size_t n)
{
	const unsigned char *b = p;
	putchar('"');
	for (size_t i = 0; i < n; i++) printf("%02x", b[i]);
	putchar('"');
}

static void u8s(const __u8 *a, size_t n)
{
	putchar('[');
	for (size_t i = 0; i < n; i++) printf("%s%u", i ? "," : "", a[i]);
	putchar(']');
}

#define U64(name, v) printf("\"%s\":\"%llu\"", name, (unsigned long long)(v))
#define UN(name, v) printf("\"%s\":%llu", name, (unsigned long long)(v))

static void print_tuple(const struct conn_tuple *t)
{
	printf("{");
	U64("saddr_h", t->saddr_h); printf(",");
	U64("saddr_l", t->saddr_l); printf(",");
	U64("daddr_h", t->daddr_h); printf(",");
	U64("daddr_l", t->daddr_l); printf(",");
	UN("sport", t->sport); printf(",");
	UN("dport", t->dport); printf(",");
	UN("netns", t->netns); printf(",");
	UN("pid", t->pid); printf(",");
	UN("metadata", t->metadata);
	printf("}");
}

static void print_stats(const struct conn_stats *s)
{
	printf("{");
	U64("sent_bytes", s->sent_bytes); printf(",");
	U64("recv_bytes", s->recv_bytes); printf(",");
	U64("sent_packets", s->sent_packets); printf(",");
	U64("recv_packets", s->recv_packets); printf(",");
	U64("timestamp", s->timestamp); printf(",");
	U64("id", s->id); printf(",");
	U64("start", s->start); printf(",");
	UN("flags", s->flags); printf(",");
	UN("direction", s->direction); printf(",");
	printf("\"_pad0\":"); u8s(s->_pad0, sizeof s->_pad0);
	printf("}");
}

static void print_tcp(const struct tcp_stats *s)
{
	printf("{");
	UN("retransmits", s->retransmits); printf(",");
	UN("rtt", s->rtt); printf(",");
	UN("rtt_var", s->rtt_var); printf(",");
	UN("segs_out", s->segs_out); printf(",");
	UN("segs_in", s->segs_in); printf(",");
	UN("state_transitions", s->state_transitions); printf(",");
	UN("state", s->state); printf(",");
	UN("_pad0", s->_pad0);
	printf("}");
}

static void print_conn(const struct conn *c)
{
	printf("{\"tup\":"); print_tuple(&c->tup);
	printf(",\"conn_stats\":"); print_stats(&c->conn_stats);
	printf(",\"tcp_stats\":"); print_tcp(&c->tcp_stats);
	printf(","); UN("reason", c->reason);
	printf(",\"_pad0\":"); u8s(c->_pad0, sizeof c->_pad0);
	printf("}");
}

static void print_batch(const struct batch *b)
{
	printf("{\"c0\":"); print_conn(&b->c0);
	printf(",\"c1\":"); print_conn(&b->c1);
	printf(",\"c2\":"); print_conn(&b->c2);
	printf(",\"c3\":"); print_conn(&b->c3);
	printf(","); UN("len", b->len);
	printf(",\"_pad0\":"); u8s(b->_pad0, sizeof b->_pad0);
	printf(","); U64("id", b->id);
	printf("}");
}

static void print_tcp_sock_rec(const struct tcp_sock_rec *r)
{
	printf("{\"tup\":"); print_tuple(&r->tup);
	printf(",\"tcp\":"); print_tcp(&r->tcp);
	printf(",\"slots\":[");
	for (int i = 0; i < CONN_MAX_PIDS; i++) {
		if (i) printf(",");
		print_stats(&r->slots[i]);
	}
	printf("],\"pids\":[");
	for (int i = 0; i < CONN_MAX_PIDS; i++) printf("%s%u", i ? "," : "", r->pids[i]);
	printf("],"); UN("nslots", r->nslots);
	printf(","); UN("live", r->live);
	printf(",\"_pad0\":"); u8s(r->_pad0, sizeof r->_pad0);
	printf("}");
}

static void print_telemetry(const struct telemetry *t)
{
	printf("{");
	U64("conn_stats_full", t->conn_stats_full); printf(",");
	U64("sock_state_full", t->sock_state_full); printf(",");
	U64("read_failed", t->read_failed); printf(",");
	U64("closed_lost", t->closed_lost); printf(",");
	U64("closed_sent", t->closed_sent); printf(",");
	U64("batch_flushes", t->batch_flushes); printf(",");
	U64("pids_overflow", t->pids_overflow); printf(",");
	U64("udp_addr_missing", t->udp_addr_missing); printf(",");
	U64("tcp_seen_late", t->tcp_seen_late); printf(",");
	U64("sock_state_delete_failed", t->sock_state_delete_failed); printf(",");
	U64("tcp_entry_replaced", t->tcp_entry_replaced);
	printf("}");
}

static void print_port_binding(const struct port_binding *p)
{
	printf("{");
	UN("netns", p->netns); printf(",");
	UN("port", p->port); printf(",");
	UN("protocol", p->protocol); printf(",");
	UN("_pad0", p->_pad0);
	printf("}");
}

static void print_guess_deref(const struct guess_deref *d)
{
	printf("{");
	UN("flags", d->flags); printf(",");
	UN("ptr_off", d->ptr_off); printf(",");
	UN("add", d->add); printf(",");
	UN("len", d->len);
	printf("}");
}

static void print_guess_mailbox(const struct guess_mailbox *m)
{
	printf("{");
	UN("tid", m->tid); printf(",");
	UN("what", m->what); printf(",");
	U64("seq", m->seq); printf(",\"deref\":[");
	for (int i = 0; i < GUESS_DEREFS; i++) {
		if (i) printf(",");
		print_guess_deref(&m->deref[i]);
	}
	printf("]}");
}

static void print_guess_capture(const struct guess_capture *c)
{
	printf("{");
	U64("seq", c->seq); printf(",");
	U64("sk", c->sk); printf(",");
	U64("arg", c->arg); printf(",");
	UN("what", c->what); printf(",");
	UN("sk_faults", c->sk_faults); printf(",");
	UN("arg_fault", c->arg_fault); printf(",");
	UN("deref_faults", c->deref_faults);
	printf(",\"sk_bytes\":"); u8s(c->sk_bytes, sizeof c->sk_bytes);
	printf(",\"arg_bytes\":"); u8s(c->arg_bytes, sizeof c->arg_bytes);
	printf(",\"deref\":"); u8s(c->deref, sizeof c->deref);
	printf("}");
}

static struct port_binding make_port_binding(__u32 netns, __u16 port, __u8 protocol)
{
	struct port_binding p;
	TRACER_ZERO(&p);
	p.netns = netns;
	p.port = port;
	p.protocol = protocol;
	return p;
}

static int first = 1;
static void begin(const char *name, const char *type, const void *p, size_t n)
{
	printf("%s\n{\"name\":\"%s\",\"struct\":\"%s\",\"hex\":", first ? "" : ",", name, type);
	first = 0;
	hex(p, n);
	printf(",\"fields\":");
}

/* Address text as inet_ntop writes it (IPv4-mapped IPv6 as the IPv4 address, as the decoder shows it). */
static void addr_text(const char *key, int v6, __u64 h, __u64 l)
{
	unsigned char b[16];
	char s[INET6_ADDRSTRLEN];
	memcpy(b, &h, 8);
	memcpy(b + 8, &l, 8);
	if (!v6)
		inet_ntop(AF_INET, b + 8, s, sizeof s);
	else if (!memcmp(b, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12))
		inet_ntop(AF_INET, b + 12, s, sizeof s);
	else
		inet_ntop(AF_INET6, b, s, sizeof s);
	printf("\"%s\":\"%s\"", key, s);
}

static void tuple_text(const struct conn_tuple *t)
{
	int v6 = (t->metadata & CONN_FAMILY_MASK) == CONN_V6;
	printf(",\"text\":{");
	addr_text("source", v6, t->saddr_h, t->saddr_l);
	printf(",");
	addr_text("dest", v6, t->daddr_h, t->daddr_l);
	printf("}");
}

/* An address's halves from its text: bytes 0..7 are h, 8..15 are l (for IPv4, the low 32 bits of l). */
static void set_addr(int v6, const char *text, __u64 *h, __u64 *l)
{
	unsigned char b[16] = {0};
	if (v6) {
		inet_pton(AF_INET6, text, b);
		memcpy(h, b, 8);
		memcpy(l, b + 8, 8);
	} else {
		*h = 0;
		*l = 0;
		inet_pton(AF_INET, text, b);
		memcpy(l, b, 4);
	}
}

static struct conn_tuple make_tuple(int v6, const char *src, const char *dst, __u16 sport, __u16 dport, __u32 netns, __u32 pid, __u32 metadata)
{
	struct conn_tuple t;
	TRACER_ZERO(&t);
	set_addr(v6, src, &t.saddr_h, &t.saddr_l);
	set_addr(v6, dst, &t.daddr_h, &t.daddr_l);
	t.sport = sport;
	t.dport = dport;
	t.netns = netns;
	t.pid = pid;
	t.metadata = metadata;
	return t;
}

static struct conn make_conn(unsigned k)
{
	struct conn c;
	TRACER_ZERO(&c);
	char src[64], dst[64];
	snprintf(src, sizeof src, "2001:db8:%x:8d3:1319:8a2e:370:%x", 0x85a3 + k, 0x7348 + k);
	snprintf(dst, sizeof dst, "fe80::%x:fe23:4567:890a", 0x1ff + k);
	c.tup = make_tuple(1, src, dst, 0xfedc - k, 443 + k, 0xf0000123u + k, 0x80000001u + k, CONN_TYPE_TCP | CONN_V6);
	c.conn_stats.sent_bytes = 0xfedcba9876543210ULL + k;
	c.conn_stats.recv_bytes = (1ULL << 53) + 1 + k;
	c.conn_stats.sent_packets = 0x8000000000000001ULL + k;
	c.conn_stats.recv_packets = 0xffffffffffffffffULL - k;
	c.conn_stats.timestamp = 0x0123456789abcdefULL + k;
	c.conn_stats.id = 0x8badf00ddeadbeefULL + k;  /* a cookie: top bit set */
	c.conn_stats.start = (1ULL << 53) + 0x1234567 + k;
	c.conn_stats.flags = 0x80000000u | CONN_ASSURED | CONN_ID_COOKIE | CONN_SEEN_LATE | CONN_NO_PID | (k << 8);
	c.conn_stats.direction = CONN_DIRECTION_OUTGOING;
	c.conn_stats._pad0[0] = 0xa1;  /* not a key: padding is whatever the kernel left, and must not show */
	c.conn_stats._pad0[1] = 0xa2;
	c.conn_stats._pad0[2] = 0xa3 + k;
	c.tcp_stats.retransmits = 0x80000003u + k;
	c.tcp_stats.rtt = 0xfffffffeu - k;
	c.tcp_stats.rtt_var = 123456 + k;
	c.tcp_stats.segs_out = 0xfffffff0u - k;
	c.tcp_stats.segs_in = 0x80000007u + k;
	c.tcp_stats.state_transitions = (1u << TCP_STATE_ESTABLISHED) | (1u << TCP_STATE_CLOSE) | 0x8000u | (k << 9);
	c.tcp_stats.state = k == 0 ? TCP_STATE_CLOSE : TCP_STATE_ESTABLISHED + k;
	c.tcp_stats._pad0 = 0xee;
	c.reason = k == 0 ? CONN_CLOSE_FAILED : (k % 3) + 1;
	for (unsigned i = 0; i < sizeof c._pad0; i++) c._pad0[i] = 0xf1 + i + k;
	return c;
}

static __u64 rng_state = 0x9e3779b97f4a7c15ULL;
static __u64 rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

int main(void)
{
	printf("{\"records\":[");

	struct conn_tuple v6 = make_tuple(1, "2001:db8:85a3:8d3:1319:8a2e:370:7348", "fe80::1ff:fe23:4567:890a", 0xfedc, 443, 0xf0000123u, 0x80000001u, CONN_TYPE_TCP | CONN_V6);
	begin("tuple_v6", "conn_tuple", &v6, sizeof v6); print_tuple(&v6); tuple_text(&v6); printf("}");

	struct conn_tuple v4 = make_tuple(0, "10.1.2.3", "192.168.200.254", 53, 40000, 4026531840u, 4242, CONN_TYPE_UDP | CONN_V4);
	begin("tuple_v4", "conn_tuple", &v4, sizeof v4); print_tuple(&v4); tuple_text(&v4); printf("}");

	struct conn_tuple mapped = make_tuple(1, "::ffff:127.0.0.1", "::ffff:10.0.0.2", 8080, 51000, 7, 1, CONN_TYPE_TCP | CONN_V6);
	begin("tuple_v4mapped", "conn_tuple", &mapped, sizeof mapped); print_tuple(&mapped); tuple_text(&mapped); printf("}");

	struct conn c = make_conn(0);
	begin("conn_stats", "conn_stats", &c.conn_stats, sizeof c.conn_stats); print_stats(&c.conn_stats); printf("}");
	begin("tcp_stats", "tcp_stats", &c.tcp_stats, sizeof c.tcp_stats); print_tcp(&c.tcp_stats); printf("}");
	begin("conn", "conn", &c, sizeof c); print_conn(&c); tuple_text(&c.tup); printf("}");

	struct tcp_sock_rec r;
	TRACER_ZERO(&r);
	r.tup = c.tup;
	r.tup.pid = 0;
	r.tcp = c.tcp_stats;
	for (unsigned i = 0; i < CONN_MAX_PIDS; i++) {
		r.slots[i] = make_conn(5 + i).conn_stats;
		r.pids[i] = 0x80000000u + 17 * i;
	}
	r.nslots = 3;
	r.live = 1;
	for (unsigned i = 0; i < sizeof r._pad0; i++) r._pad0[i] = 0xc1 + i;
	begin("tcp_sock_rec", "tcp_sock_rec", &r, sizeof r); print_tcp_sock_rec(&r); printf("}");

	struct batch b;
	TRACER_ZERO(&b);
	b.c0 = make_conn(1);
	b.c1 = make_conn(2);
	b.c2 = make_conn(3);
	b.c3 = make_conn(4);
	b.len = 3;
	b.id = 0xf123456789abcdefULL;
	begin("batch", "batch", &b, sizeof b); print_batch(&b); printf("}");

	struct telemetry t = {
		.conn_stats_full = 0x8000000000000001ULL,
		.sock_state_full = 0xfffffffffffffffdULL,
		.read_failed = 0x0020000000000005ULL,
		.closed_lost = 0x00000000ffffffffULL,
		.closed_sent = 0xc000000000000007ULL,
		.batch_flushes = 0x0000000100000000ULL,
		.pids_overflow = 0x7fffffffffffffffULL,
		.udp_addr_missing = 0xfedcba9876543211ULL,
		.tcp_seen_late = (1ULL << 53) - 1,
		.sock_state_delete_failed = 0x0123456789abcdefULL,
		.tcp_entry_replaced = 1ULL << 53,
	};
	begin("telemetry", "telemetry", &t, sizeof t); print_telemetry(&t); printf("}");

	struct port_binding tcp_port = make_port_binding(0xf0000123u, 0xfedc, IPPROTO_TCP);
	begin("port_binding_tcp", "port_binding", &tcp_port, sizeof tcp_port); print_port_binding(&tcp_port); printf("}");
	struct port_binding udp_port = make_port_binding(4026531840u, 53, IPPROTO_UDP);
	begin("port_binding_udp", "port_binding", &udp_port, sizeof udp_port); print_port_binding(&udp_port); printf("}");

	struct guess_mailbox m;
	TRACER_ZERO(&m);
	m.tid = 0x80000001u;
	m.what = GUESS_SOCK | GUESS_SKB;
	m.seq = 0xfedcba9876543210ULL;
	for (int i = 0; i < GUESS_DEREFS; i++) {
		m.deref[i].flags = i & 3;
		m.deref[i].ptr_off = 0xf0000000u + 8 * i;
		m.deref[i].add = 0x8000u + i;
		m.deref[i].len = 0xa0a0a0a0u + i;
	}
	begin("guess_deref", "guess_deref", &m.deref[5], sizeof m.deref[5]); print_guess_deref(&m.deref[5]); printf("}");
	begin("guess_mailbox", "guess_mailbox", &m, sizeof m); print_guess_mailbox(&m); printf("}");
	static struct guess_capture gc;
	gc.seq = 0x8000000000000003ULL;
	gc.sk = 0xffff888012345678ULL;
	gc.arg = 0xffffffff81000000ULL;
	gc.what = GUESS_SKB;
	gc.sk_faults = 0x80000081u;
	gc.arg_fault = 1;
	gc.deref_faults = 0xffff0001u;
	for (unsigned i = 0; i < sizeof gc.sk_bytes; i++) gc.sk_bytes[i] = (__u8)(i * 7 + 1);
	for (unsigned i = 0; i < sizeof gc.arg_bytes; i++) gc.arg_bytes[i] = (__u8)(255 - i);
	for (unsigned i = 0; i < sizeof gc.deref; i++) gc.deref[i] = (__u8)(i * 13 + 5);
	begin("guess_capture", "guess_capture", &gc, sizeof gc); print_guess_capture(&gc); printf("}");

	printf("\n],\"ipv6\":[");
	static const char *fixed[] = {
		"::", "::1", "1::", "2001:db8::1", "2001:db8:0:0:1:0:0:1", "2001:0:0:1:0:0:0:1",
		"1:0:0:2:0:0:3:4", "0:1:0:1:0:1:0:1", "ff02::1:ff00:1", "fe80::", "1:2:3:4:5:6:7:8",
		"::ffff:192.0.2.128", "64:ff9b::c000:280", "2001:db8::ffff:0:1", "::1:0:0:0:1",
	};
	int n = 0;
	for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) {
		unsigned char a[16];
		char s[INET6_ADDRSTRLEN];
		inet_pton(AF_INET6, fixed[i], a);
		inet_ntop(AF_INET6, a, s, sizeof s);
		printf("%s\n{\"hex\":", n++ ? "," : "");
		hex(a, 16);
		printf(",\"text\":\"%s\"}", s);
	}
	for (int i = 0; i < 2000; i++) {
		unsigned char a[16];
		char s[INET6_ADDRSTRLEN];
		__u64 r = rng(), zeros = rng();
		for (int g = 0; g < 8; g++) {
			unsigned v = (zeros >> g) & 1 ? 0 : (unsigned)((r >> (8 * g)) & 0xffff) | (g == 0 ? 0x100 : 0);
			a[2 * g] = v >> 8;
			a[2 * g + 1] = v & 0xff;
		}
		inet_ntop(AF_INET6, a, s, sizeof s);
		printf(",\n{\"hex\":");
		hex(a, 16);
		printf(",\"text\":\"%s\"}", s);
	}
	printf("\n]}\n");
	return 0;
}
