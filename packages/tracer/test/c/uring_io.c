// TCP and UDP through io_uring only (liburing, linked statically: the QEMU
// guests have no liburing.so). Every data transfer on the test's sockets is
// an io_uring request; socket(), connect() and bind() are plain syscalls.
//   uring_io probe                  io_uring_setup() works? {"errno":0} or {"errno":E}
//   uring_io tcp PORT N M           connect to 127.0.0.1:PORT; N bytes with
//                                   IORING_OP_SEND in 4 SQEs submitted together
//                                   (short sends resubmitted); IORING_OP_RECV until
//                                   M bytes and then end of stream; close
//   uring_io udp PORT K             a socket connected to 127.0.0.1:PORT: K rounds of
//                                   IORING_OP_SEND of 100 + 13i bytes, IORING_OP_RECV
//                                   of the reply
//   uring_io udp-sendmsg PORT K     an unconnected socket bound to 127.0.0.1: K rounds
//                                   of IORING_OP_SENDMSG (msg_name 127.0.0.1:PORT)
//                                   of 100 + 13i bytes, IORING_OP_RECVMSG of the reply
//                                   (its msg_name must be 127.0.0.1:PORT)
// Prints what it did as JSON on stdout. If io_uring_setup() fails, prints
// {"uringErrno":E} and exits 3.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <liburing.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static struct io_uring ring;

static void die(const char *what, int err)
{
	fprintf(stderr, "uring_io: %s: %s\n", what, strerror(err));
	exit(1);
}

static void ring_init(void)
{
	int r = io_uring_queue_init(16, &ring, 0);
	if (r < 0) {
		printf("{\"uringErrno\":%d}\n", -r);
		exit(3);
	}
}

static struct io_uring_sqe *sqe(void)
{
	struct io_uring_sqe *e = io_uring_get_sqe(&ring);
	if (!e)
		die("io_uring_get_sqe", EBUSY);
	return e;
}

/* Submit what is queued; wait for one completion; return its res and user_data. */
static int complete(__u64 *data)
{
	struct io_uring_cqe *c;
	int r = io_uring_submit_and_wait(&ring, 1);
	if (r < 0)
		die("io_uring_submit_and_wait", -r);
	r = io_uring_wait_cqe(&ring, &c);
	if (r < 0)
		die("io_uring_wait_cqe", -r);
	int res = c->res;
	if (data)
		*data = c->user_data;
	io_uring_cqe_seen(&ring, c);
	return res;
}

static int one(void)
{
	return complete(NULL);
}

static struct sockaddr_in loopback(int port)
{
	struct sockaddr_in a;
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a.sin_port = htons(port);
	return a;
}

static int local_port(int s)
{
	struct sockaddr_in a;
	socklen_t l = sizeof(a);
	if (getsockname(s, (struct sockaddr *)&a, &l))
		die("getsockname", errno);
	return ntohs(a.sin_port);
}

static char buf[1 << 16];

static int tcp(int port, long n, long m)
{
	struct sockaddr_in to = loopback(port);
	int s = socket(AF_INET, SOCK_STREAM, 0);
	if (s < 0 || connect(s, (struct sockaddr *)&to, sizeof(to)))
		die("tcp socket/connect", errno);
	ring_init();
	memset(buf, 0x55, sizeof(buf));
	/* 4 pieces, all submitted at once; each piece's remainder is resubmitted
	 * after a short send (the content is constant, so order does not matter). */
	long left[4], sent = 0, sqes = 0;
	int inflight = 0;
	for (int i = 0; i < 4; i++)
		left[i] = n / 4 + (i == 3 ? n % 4 : 0);
	for (int i = 0; i < 4; i++) {
		if (!left[i])
			continue;
		long len = left[i] < (long)sizeof(buf) ? left[i] : (long)sizeof(buf);
		struct io_uring_sqe *e = sqe();
		io_uring_prep_send(e, s, buf, len, 0);
		io_uring_sqe_set_data64(e, i);
		inflight++;
		sqes++;
	}
	while (inflight) {
		__u64 i;
		int r = complete(&i);
		inflight--;
		if (r < 0)
			die("IORING_OP_SEND", -r);
		left[i] -= r;
		sent += r;
		if (left[i]) {
			long len = left[i] < (long)sizeof(buf) ? left[i] : (long)sizeof(buf);
			struct io_uring_sqe *e = sqe();
			io_uring_prep_send(e, s, buf, len, 0);
			io_uring_sqe_set_data64(e, i);
			inflight++;
			sqes++;
		}
	}
	long got = 0, recvs = 0;
	for (;;) {
		io_uring_prep_recv(sqe(), s, buf, sizeof(buf), 0);
		int r = one();
		recvs++;
		if (r < 0)
			die("IORING_OP_RECV", -r);
		if (r == 0)
			break; /* the server's FIN, after M bytes */
		got += r;
	}
	int lp = local_port(s);
	close(s);
	printf("{\"pid\":%d,\"port\":%d,\"sent\":%ld,\"received\":%ld,\"sendSqes\":%ld,\"recvSqes\":%ld,\"wanted\":[%ld,%ld]}\n",
	       getpid(), lp, sent, got, sqes, recvs, n, m);
	return sent == n && got == m ? 0 : 1;
}

static int udp(int port, int k, int connected)
{
	struct sockaddr_in to = loopback(port), self = loopback(0), from;
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	if (s < 0)
		die("udp socket", errno);
	if (connected ? connect(s, (struct sockaddr *)&to, sizeof(to)) : bind(s, (struct sockaddr *)&self, sizeof(self)))
		die("udp connect/bind", errno);
	ring_init();
	long sent = 0, got = 0;
	int count = 0, badSource = 0;
	for (int i = 0; i < k; i++) {
		int len = 100 + 13 * i, r;
		struct iovec iov = { buf, (size_t)len };
		struct msghdr mh = { .msg_name = &to, .msg_namelen = sizeof(to), .msg_iov = &iov, .msg_iovlen = 1 };
		if (connected)
			io_uring_prep_send(sqe(), s, buf, len, 0);
		else
			io_uring_prep_sendmsg(sqe(), s, &mh, 0);
		r = one();
		if (r != len)
			die(connected ? "IORING_OP_SEND" : "IORING_OP_SENDMSG", r < 0 ? -r : EMSGSIZE);
		sent += r;
		iov.iov_len = sizeof(buf);
		memset(&from, 0, sizeof(from));
		struct msghdr rh = { .msg_name = &from, .msg_namelen = sizeof(from), .msg_iov = &iov, .msg_iovlen = 1 };
		if (connected)
			io_uring_prep_recv(sqe(), s, buf, sizeof(buf), 0);
		else
			io_uring_prep_recvmsg(sqe(), s, &rh, 0);
		r = one();
		if (r < 0)
			die(connected ? "IORING_OP_RECV" : "IORING_OP_RECVMSG", -r);
		if (!connected && (from.sin_port != to.sin_port || from.sin_addr.s_addr != to.sin_addr.s_addr))
			badSource++;
		got += r;
		count++;
	}
	printf("{\"pid\":%d,\"port\":%d,\"count\":%d,\"sent\":%ld,\"received\":%ld,\"badSource\":%d}\n",
	       getpid(), local_port(s), count, sent, got, badSource);
	close(s);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "probe")) {
		int r = io_uring_queue_init(4, &ring, 0);
		printf("{\"errno\":%d}\n", r < 0 ? -r : 0);
		return 0;
	}
	if (argc == 5 && !strcmp(argv[1], "tcp"))
		return tcp(atoi(argv[2]), atol(argv[3]), atol(argv[4]));
	if (argc == 4 && !strcmp(argv[1], "udp"))
		return udp(atoi(argv[2]), atoi(argv[3]), 1);
	if (argc == 4 && !strcmp(argv[1], "udp-sendmsg"))
		return udp(atoi(argv[2]), atoi(argv[3]), 0);
	fprintf(stderr, "usage: uring_io probe | tcp PORT N M | udp PORT K | udp-sendmsg PORT K\n");
	return 2;
}
