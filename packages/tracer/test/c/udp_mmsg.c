// One sendmmsg of M datagrams from one unconnected socket to two peers
// (message i goes to peer i % 2, 10 + 3*i bytes); each peer takes its share
// with one recvmmsg and answers with one sendmmsg (peer p, reply j:
// 100*(p+1) + j bytes); the sender takes every reply with one recvmmsg (two
// sources in one call). Prints what it did as JSON.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAXM 1024
static char buf[MAXM][2048];
static struct iovec iov[MAXM];
static struct mmsghdr mm[MAXM];
static struct sockaddr_in names[MAXM];

static int bound(struct sockaddr_in *a)
{
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	socklen_t l = sizeof(*a);
	memset(a, 0, sizeof(*a));
	a->sin_family = AF_INET;
	a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (s < 0 || bind(s, (struct sockaddr *)a, sizeof(*a)) || getsockname(s, (struct sockaddr *)a, &l)) {
		perror("socket/bind");
		exit(1);
	}
	return s;
}

static void prep(int n, const int *sizes, struct sockaddr_in *const *to)
{
	memset(mm, 0, sizeof(mm));
	for (int i = 0; i < n; i++) {
		iov[i].iov_base = buf[i];
		iov[i].iov_len = sizes ? (size_t)sizes[i] : sizeof(buf[i]);
		mm[i].msg_hdr.msg_iov = &iov[i];
		mm[i].msg_hdr.msg_iovlen = 1;
		mm[i].msg_hdr.msg_name = to ? (void *)to[i] : (void *)&names[i];
		mm[i].msg_hdr.msg_namelen = sizeof(struct sockaddr_in);
	}
}

int main(int argc, char **argv)
{
	int m = argc > 1 ? atoi(argv[1]) : 10;
	if (m < 2 || m > MAXM)
		return 2;
	struct sockaddr_in sa, pa[2];
	int s = bound(&sa), p[2] = { bound(&pa[0]), bound(&pa[1]) };
	static int sizes[MAXM];
	static struct sockaddr_in *to[MAXM];
	long sent[2] = { 0, 0 }, got[2] = { 0, 0 }, back[2] = { 0, 0 };
	int cnt[2] = { 0, 0 };
	for (int i = 0; i < m; i++) {
		sizes[i] = 10 + 3 * i;
		to[i] = &pa[i % 2];
	}
	prep(m, sizes, to);
	int n = sendmmsg(s, mm, m, 0);
	if (n != m) {
		perror("sendmmsg");
		return 1;
	}
	for (int i = 0; i < m; i++)
		sent[i % 2] += mm[i].msg_len;
	for (int k = 0; k < 2; k++) {
		int want = (m + 1 - k) / 2;
		prep(want, NULL, NULL);
		n = recvmmsg(p[k], mm, want, 0, NULL);
		if (n != want) {
			perror("recvmmsg peer");
			return 1;
		}
		for (int j = 0; j < n; j++)
			got[k] += mm[j].msg_len;
		cnt[k] = n;
		for (int j = 0; j < want; j++) {
			sizes[j] = 100 * (k + 1) + j;
			to[j] = &sa;
		}
		prep(want, sizes, to);
		if (sendmmsg(p[k], mm, want, 0) != want) {
			perror("sendmmsg reply");
			return 1;
		}
	}
	prep(m, NULL, NULL);
	n = recvmmsg(s, mm, m, 0, NULL);
	if (n != m) {
		perror("recvmmsg sender");
		return 1;
	}
	for (int j = 0; j < n; j++)
		back[names[j].sin_port == pa[0].sin_port ? 0 : 1] += mm[j].msg_len;
	printf("{\"pid\":%d,\"sender\":%d,\"peers\":[%d,%d],\"count\":[%d,%d],\"sent\":[%ld,%ld],\"got\":[%ld,%ld],\"back\":[%ld,%ld]}\n",
	       getpid(), ntohs(sa.sin_port), ntohs(pa[0].sin_port), ntohs(pa[1].sin_port), cnt[0], cnt[1], sent[0], sent[1],
	       got[0], got[1], back[0], back[1]);
	return 0;
}
