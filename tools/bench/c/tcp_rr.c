// tcp_rr: loopback TCP request/response rate (netperf TCP_RR style) between
// two processes: the client writes PAYLOAD bytes, the server reads them and
// writes PAYLOAD bytes back, the client reads them; one transaction.
//   tcp_rr MILLISECONDS [PAYLOAD_BYTES=64]
// One connection (TCP_NODELAY both ends), a quarter of a second of untimed
// warm-up, then transactions for MILLISECONDS, timed with CLOCK_MONOTONIC.
// Prints {"transactions":N,"elapsedNs":T,"perSecond":R}.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void die(const char *what) {
  fprintf(stderr, "tcp_rr: %s: %s\n", what, strerror(errno));
  exit(1);
}

static int full(int fd, char *buf, long n, int writing) {
  long done = 0;
  while (done < n) {
    ssize_t r = writing ? write(fd, buf + done, n - done) : read(fd, buf + done, n - done);
    if (r <= 0) return -1;
    done += r;
  }
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: tcp_rr MILLISECONDS [PAYLOAD_BYTES]\n");
    return 2;
  }
  long ms = atol(argv[1]);
  long payload = argc > 2 ? atol(argv[2]) : 64;
  if (ms <= 0 || payload <= 0 || payload > 65536) {
    fprintf(stderr, "tcp_rr: bad arguments\n");
    return 2;
  }
  int one = 1;
  int lfd = socket(AF_INET, SOCK_STREAM, 0);
  if (lfd < 0) die("socket");
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  if (bind(lfd, (struct sockaddr *)&addr, sizeof addr) != 0) die("bind");
  if (listen(lfd, 1) != 0) die("listen");
  socklen_t alen = sizeof addr;
  if (getsockname(lfd, (struct sockaddr *)&addr, &alen) != 0) die("getsockname");
  char *buf = calloc(1, payload);

  pid_t server = fork();
  if (server < 0) die("fork");
  if (server == 0) {
    int a = accept(lfd, NULL, NULL);
    if (a < 0) die("accept");
    setsockopt(a, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    while (full(a, buf, payload, 0) == 0 && full(a, buf, payload, 1) == 0) {
    }
    _exit(0);
  }
  close(lfd);
  int c = socket(AF_INET, SOCK_STREAM, 0);
  if (c < 0) die("socket");
  setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (connect(c, (struct sockaddr *)&addr, sizeof addr) != 0) die("connect");
  uint64_t warm = now_ns() + 250000000ull;
  while (now_ns() < warm) {
    if (full(c, buf, payload, 1) || full(c, buf, payload, 0)) die("warm-up transaction");
  }
  uint64_t start = now_ns(), end = start + (uint64_t)ms * 1000000ull, t = start;
  long n = 0;
  while (t < end) {
    // the clock every 64 transactions: its cost stays out of the rate
    for (int k = 0; k < 64; k++) {
      if (full(c, buf, payload, 1) || full(c, buf, payload, 0)) die("transaction");
    }
    n += 64;
    t = now_ns();
  }
  close(c);
  waitpid(server, NULL, 0);
  printf("{\"transactions\":%ld,\"elapsedNs\":%lu,\"perSecond\":%.1f}\n", n, (unsigned long)(t - start), (double)n * 1e9 / (double)(t - start));
  return 0;
}
