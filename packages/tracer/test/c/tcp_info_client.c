/* A TCP client whose own TCP_INFO is the reference for the tracer's
 * per-connection TCP fields (retransmit.kernel.test.ts).
 *
 *   tcp_info_client PORT BYTES WRITES REPLY
 *
 * Connects to 127.0.0.1:PORT, sends BYTES in WRITES writes, waits until the
 * peer acknowledged everything (tcpi_unacked == 0) and its REPLY bytes were
 * read, lets the delayed ACK of the reply go out, then takes TCP_INFO, does
 * send(fd, buf, 0, 0) (zero bytes: no segment, but sock_send_length fires on
 * 6.3+ and the tracer refreshes its view) and a non-blocking recv that finds
 * nothing (the fentry/kprobe receive hook refreshes), and takes TCP_INFO again; if
 * anything moved in between (a late ACK), it tries again. It prints
 *   {"phase":"live","localPort":..,"retrans":..,"segsOut":..,"segsIn":..,"rtt":..,"rttVar":..}
 * waits for a line on stdin, prints the same for "beforeClose" (TCP_INFO
 * just before close) and closes. Errors: a message on stderr, exit 1. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <linux/tcp.h> /* struct tcp_info with tcpi_segs_out/in (glibc's is older) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static void die(const char *what)
{
	fprintf(stderr, "tcp_info_client: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static struct tcp_info info(int fd)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);
	memset(&ti, 0, sizeof(ti));
	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len))
		die("getsockopt TCP_INFO");
	return ti;
}

static int same(const struct tcp_info *a, const struct tcp_info *b)
{
	return a->tcpi_total_retrans == b->tcpi_total_retrans && a->tcpi_segs_out == b->tcpi_segs_out &&
	       a->tcpi_segs_in == b->tcpi_segs_in && a->tcpi_rtt == b->tcpi_rtt && a->tcpi_rttvar == b->tcpi_rttvar &&
	       a->tcpi_unacked == b->tcpi_unacked;
}

static void print(const char *phase, int port, const struct tcp_info *t)
{
	printf("{\"phase\":\"%s\",\"localPort\":%d,\"retrans\":%u,\"segsOut\":%u,\"segsIn\":%u,\"rtt\":%u,\"rttVar\":%u,"
	       "\"unacked\":%u,\"state\":%u}\n",
	       phase, port, t->tcpi_total_retrans, t->tcpi_segs_out, t->tcpi_segs_in, t->tcpi_rtt, t->tcpi_rttvar,
	       t->tcpi_unacked, t->tcpi_state);
	fflush(stdout);
}

int main(int argc, char **argv)
{
	if (argc != 5) {
		fprintf(stderr, "usage: %s PORT BYTES WRITES REPLY\n", argv[0]);
		return 2;
	}
	int port = atoi(argv[1]);
	long total = atol(argv[2]);
	long writes = atol(argv[3]);
	long reply = atol(argv[4]);
	if (port <= 0 || port > 65535 || total <= 0 || writes <= 0 || reply < 0)
		return 2;

	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		die("socket");
	struct sockaddr_in sa;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons(port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
		die("connect");
	struct sockaddr_in me;
	socklen_t melen = sizeof(me);
	if (getsockname(fd, (struct sockaddr *)&me, &melen))
		die("getsockname");
	int lport = ntohs(me.sin_port);

	char *buf = malloc(total);
	if (!buf)
		die("malloc");
	memset(buf, 'x', total);
	long chunk = (total + writes - 1) / writes, off = 0;
	while (off < total) {
		long n = total - off < chunk ? total - off : chunk;
		ssize_t w = send(fd, buf + off, n, 0);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			die("send");
		}
		off += w;
		/* separate writes: separate segments to drop */
		sleep_ms(5);
	}

	/* Everything acknowledged (including the retransmissions of what the
	 * XDP program dropped). */
	for (int i = 0;; i++) {
		struct tcp_info t = info(fd);
		if (t.tcpi_unacked == 0)
			break;
		if (i > 3000) {
			errno = ETIMEDOUT;
			die("waiting for tcpi_unacked == 0");
		}
		sleep_ms(10);
	}
	long got = 0;
	char rbuf[4096];
	while (got < reply) {
		ssize_t r = recv(fd, rbuf, sizeof(rbuf), 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			die("recv reply");
		got += r;
	}
	/* Our (possibly delayed) ACK of the reply leaves within TCP_DELACK_MAX
	 * (200 ms); then nothing moves until close. */
	sleep_ms(300);

	struct tcp_info before, after;
	for (int i = 0;; i++) {
		before = info(fd);
		if (send(fd, buf, 0, 0) != 0)
			die("send of zero bytes");
		/* A read that finds nothing (EAGAIN): no byte moves, but the fentry and
		 * kprobe backends' receive hook (tcp_cleanup_rbuf) runs and refreshes. */
		if (recv(fd, rbuf, 1, MSG_DONTWAIT) != -1 || (errno != EAGAIN && errno != EWOULDBLOCK))
			die("empty non-blocking read");
		after = info(fd);
		if (same(&before, &after) && after.tcpi_unacked == 0)
			break;
		if (i > 100) {
			errno = EAGAIN;
			die("TCP_INFO never stable around the zero-byte send");
		}
		sleep_ms(50);
	}
	print("live", lport, &after);

	char line[64];
	if (!fgets(line, sizeof(line), stdin)) {
		errno = EPIPE;
		die("stdin closed before the go-ahead");
	}
	struct tcp_info last = info(fd);
	print("beforeClose", lport, &last);
	if (close(fd))
		die("close");
	free(buf);
	return 0;
}
