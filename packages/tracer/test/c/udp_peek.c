// MSG_PEEK on UDP: A sends 100 bytes to B; B peeks twice (recvfrom and
// recvmsg, both with MSG_PEEK and an address), then reads it, then answers
// 50 bytes; A reads the answer. Prints the ports and what each call returned.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int bound(struct sockaddr_in *a)
{
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	socklen_t l = sizeof(*a);
	memset(a, 0, sizeof(*a));
	a->sin_family = AF_INET;
	a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (s < 0 || bind(s, (struct sockaddr *)a, sizeof(*a)) || getsockname(s, (struct sockaddr *)a, &l))
		return -1;
	return s;
}

int main(void)
{
	struct sockaddr_in aa, ba, from;
	socklen_t fl = sizeof(from);
	char buf[2048] = { 0 };
	int a = bound(&aa), b = bound(&ba);
	if (a < 0 || b < 0)
		return 1;
	ssize_t s1 = sendto(a, buf, 100, 0, (struct sockaddr *)&ba, sizeof(ba));
	ssize_t p1 = recvfrom(b, buf, sizeof(buf), MSG_PEEK, (struct sockaddr *)&from, &fl);
	struct iovec iov = { buf, sizeof(buf) };
	struct msghdr mh = { .msg_name = &from, .msg_namelen = sizeof(from), .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t p2 = recvmsg(b, &mh, MSG_PEEK);
	fl = sizeof(from);
	ssize_t r1 = recvfrom(b, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);
	ssize_t s2 = sendto(b, buf, 50, 0, (struct sockaddr *)&from, fl);
	fl = sizeof(from);
	ssize_t p3 = recvfrom(a, buf, sizeof(buf), MSG_PEEK, (struct sockaddr *)&from, &fl);
	fl = sizeof(from);
	ssize_t r2 = recvfrom(a, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);
	printf("{\"pid\":%d,\"a\":%d,\"b\":%d,\"calls\":[%zd,%zd,%zd,%zd,%zd,%zd,%zd]}\n", getpid(), ntohs(aa.sin_port),
	       ntohs(ba.sin_port), s1, p1, p2, r1, s2, p3, r2);
	return 0;
}
