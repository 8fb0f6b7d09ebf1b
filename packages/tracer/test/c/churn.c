// churn: short TCP connections on loopback in a network namespace of its own,
// as fast as it can or at a given rate, counting what it made.
//   churn COUNT [RATE_PER_S] [PAYLOAD_BYTES]
// Each connection: connect to a listener on 127.0.0.1, accept, the client
// writes PAYLOAD bytes (default 1) and the server reads them, then both
// close with SO_LINGER {1, 0}: an RST, no TIME_WAIT (ephemeral ports never
// run out), and each socket is destroyed in its own close(). A server socket
// closed without it is destroyed only once the client's RST reached it: when
// the RST is still queued (softirq work deferred to ksoftirqd on a busy
// machine) or dropped, the server socket is left orphaned in FIN_WAIT1,
// retransmitting its FIN with backoff for seconds after this program ended.
// Needs root (unshare(CLONE_NEWNET)).
// Prints one line of JSON: its pid, the namespace inode, the connections
// made and failed, the elapsed ns.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void die(const char *what) {
  fprintf(stderr, "churn: %s: %s\n", what, strerror(errno));
  exit(1);
}

/** A fresh network namespace with lo up. */
static void fresh_netns(void) {
  if (unshare(CLONE_NEWNET) != 0) die("unshare(CLONE_NEWNET)");
  int s = socket(AF_INET, SOCK_DGRAM, 0);
  if (s < 0) die("socket");
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  strcpy(ifr.ifr_name, "lo");
  if (ioctl(s, SIOCGIFFLAGS, &ifr) != 0) die("SIOCGIFFLAGS lo");
  ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
  if (ioctl(s, SIOCSIFFLAGS, &ifr) != 0) die("SIOCSIFFLAGS lo");
  close(s);
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: churn COUNT [RATE_PER_S] [PAYLOAD_BYTES]\n");
    return 2;
  }
  long count = atol(argv[1]);
  double rate = argc > 2 ? atof(argv[2]) : 0;
  long payload = argc > 3 ? atol(argv[3]) : 1;
  if (count < 0 || rate < 0 || payload < 0 || payload > 65536) {
    fprintf(stderr, "churn: bad arguments\n");
    return 2;
  }
  fresh_netns();
  struct stat ns;
  if (stat("/proc/self/ns/net", &ns) != 0) die("stat /proc/self/ns/net");

  int lfd = socket(AF_INET, SOCK_STREAM, 0);
  if (lfd < 0) die("socket");
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  if (bind(lfd, (struct sockaddr *)&addr, sizeof addr) != 0) die("bind");
  if (listen(lfd, 1024) != 0) die("listen");
  socklen_t alen = sizeof addr;
  if (getsockname(lfd, (struct sockaddr *)&addr, &alen) != 0) die("getsockname");

  char *buf = calloc(1, payload > 0 ? payload : 1);
  struct linger lg = {.l_onoff = 1, .l_linger = 0};
  int one = 1;
  long made = 0, failed = 0;
  uint64_t start = now_ns();
  for (long i = 0; i < count; i++) {
    if (rate > 0 && (i & 63) == 0) {
      // paced: connection i is due at start + i / rate
      uint64_t due = start + (uint64_t)((double)i * 1e9 / rate);
      uint64_t t = now_ns();
      if (due > t) {
        struct timespec d = {.tv_sec = (time_t)((due - t) / 1000000000ull), .tv_nsec = (long)((due - t) % 1000000000ull)};
        nanosleep(&d, NULL);
      }
    }
    int c = socket(AF_INET, SOCK_STREAM, 0);
    if (c < 0) die("socket");
    setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(c, (struct sockaddr *)&addr, sizeof addr) != 0) {
      failed++;
      close(c);
      continue;
    }
    int a = accept(lfd, NULL, NULL);
    if (a < 0) die("accept");
    long got = 0;
    if (payload > 0) {
      if (write(c, buf, payload) != payload) die("write");
      while (got < payload) {
        ssize_t r = read(a, buf, payload - got);
        if (r <= 0) die("read");
        got += r;
      }
    }
    if (setsockopt(c, SOL_SOCKET, SO_LINGER, &lg, sizeof lg) != 0) die("SO_LINGER");
    if (setsockopt(a, SOL_SOCKET, SO_LINGER, &lg, sizeof lg) != 0) die("SO_LINGER");
    close(c);
    close(a);
    made++;
  }
  uint64_t elapsed = now_ns() - start;
  printf("{\"pid\":%d,\"netns\":%lu,\"made\":%ld,\"failed\":%ld,\"elapsedNs\":%lu}\n", getpid(), (unsigned long)ns.st_ino, made, failed, (unsigned long)elapsed);
  return 0;
}
