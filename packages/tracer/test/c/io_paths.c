/* A TCP client of the test's server that moves bytes through several I/O
 * paths: writev, sendfile (out), readv, splice socket->pipe, recv(MSG_PEEK)
 * then recv(MSG_WAITALL) (in). Prints "<local port> <sent> <received> <peeked>":
 * the bytes that really moved (peeked bytes are read again, not counted twice).
 * usage: io_paths <port> <file to sendfile> <readv bytes> <splice bytes> <recv bytes> */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

static void die(const char *m)
{
	perror(m);
	exit(1);
}

int main(int argc, char **argv)
{
	if (argc != 6) {
		fprintf(stderr, "usage: io_paths port file readv splice recv\n");
		return 2;
	}
	int port = atoi(argv[1]);
	long want_readv = atol(argv[3]), want_splice = atol(argv[4]), want_recv = atol(argv[5]);
	long sent = 0, received = 0, peeked = 0;
	static char buf[1 << 20];
	memset(buf, 'x', sizeof(buf));

	int s = socket(AF_INET, SOCK_STREAM, 0);
	if (s < 0)
		die("socket");
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	if (connect(s, (struct sockaddr *)&a, sizeof(a)))
		die("connect");
	struct sockaddr_in l;
	socklen_t ll = sizeof(l);
	if (getsockname(s, (struct sockaddr *)&l, &ll))
		die("getsockname");

	/* writev: three buffers, 100 + 200 + 300 */
	struct iovec iv[3] = { { buf, 100 }, { buf + 100, 200 }, { buf + 300, 300 } };
	ssize_t n = writev(s, iv, 3);
	if (n != 600)
		die("writev");
	sent += n;

	/* sendfile of the whole file */
	int fd = open(argv[2], O_RDONLY);
	if (fd < 0)
		die("open");
	struct stat st;
	if (fstat(fd, &st))
		die("fstat");
	off_t off = 0;
	while (off < st.st_size) {
		n = sendfile(s, fd, &off, st.st_size - off);
		if (n <= 0)
			die("sendfile");
		sent += n;
	}
	close(fd);

	/* readv: exactly want_readv bytes into two buffers */
	long got = 0;
	while (got < want_readv) {
		long rest = want_readv - got, first = rest > 1000 ? 1000 : rest;
		struct iovec r[2] = { { buf, first }, { buf + 1000, rest - first } };
		n = readv(s, r, 2);
		if (n <= 0)
			die("readv");
		got += n;
	}
	received += got;

	/* splice: socket -> pipe, exactly want_splice bytes, drained from the pipe */
	int p[2];
	if (pipe(p))
		die("pipe");
	got = 0;
	while (got < want_splice) {
		n = splice(s, NULL, p[1], NULL, want_splice - got, 0);
		if (n <= 0)
			die("splice");
		got += n;
		for (ssize_t d = 0; d < n;) {
			ssize_t m = read(p[0], buf, n - d);
			if (m <= 0)
				die("pipe read");
			d += m;
		}
	}
	received += got;

	/* recv(MSG_PEEK) must not count; then the same bytes for real */
	n = recv(s, buf, 100, MSG_PEEK);
	if (n <= 0)
		die("recv peek");
	peeked = n;
	got = 0;
	while (got < want_recv) {
		n = recv(s, buf, want_recv - got, MSG_WAITALL);
		if (n <= 0)
			die("recv");
		got += n;
	}
	received += got;

	/* half-close, then read to the server's FIN */
	if (shutdown(s, SHUT_WR))
		die("shutdown");
	while ((n = read(s, buf, sizeof(buf))) > 0)
		received += n;
	if (n < 0)
		die("read");
	close(s);
	printf("%d %ld %ld %ld\n", ntohs(l.sin_port), sent, received, peeked);
	return 0;
}
