// The workload of the syscall-cost benchmark: tight loops of syscalls on one
// pinned CPU, timed inside the program, so that nothing of Node is measured.
//
//   syscall_loop <cpu> <iterations> <warmup-iterations> <reps> <mode>...
//
// modes (run in the order given, each on fresh sockets):
//   udp     two UDP sockets on 127.0.0.1, connected to each other; one
//           iteration = sendto(a, 64 bytes, NULL addr) + recvfrom(b) (2 syscalls)
//   tcp     a TCP connection over 127.0.0.1 (TCP_NODELAY); one iteration =
//           sendto(client, 64 bytes) + recvfrom(server) until those 64 bytes
//           are in (2 syscalls in the steady state)
//   getpid  one iteration = syscall(SYS_getpid) (1 syscall), the global cost
//           of syscall tracepoints
//
// Each mode first runs <warmup-iterations> untimed, then <reps> repetitions of
// <iterations>, each timed with CLOCK_MONOTONIC. stdout (one line of JSON):
//   {"cpu":1,"iterations":N,"reps":R,"results":{"udp":{"syscallsPerIter":2,
//    "nsPerSyscall":[..one per rep..],"extraRecvCalls":0},...}}
// On a shared machine the fastest repetition is the one least disturbed by
// preemption; the caller picks min or median.
// Exit status 1 on any error (message on stderr).
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define MSG 64

static void die(const char *what) {
  fprintf(stderr, "syscall_loop: %s: %s\n", what, strerror(errno));
  exit(1);
}

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static struct sockaddr_in loopback(uint16_t port) {
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

static void bound_name(int fd, struct sockaddr_in *out) {
  socklen_t l = sizeof *out;
  if (getsockname(fd, (struct sockaddr *)out, &l) < 0) die("getsockname");
}

/* Two connected sockets: fds[0] sends, fds[1] receives. */
static void make_pair(int type, int fds[2]) {
  struct sockaddr_in any = loopback(0), na, nb;
  if (type == SOCK_DGRAM) {
    int a = socket(AF_INET, SOCK_DGRAM, 0), b = socket(AF_INET, SOCK_DGRAM, 0);
    if (a < 0 || b < 0) die("socket(udp)");
    if (bind(a, (struct sockaddr *)&any, sizeof any) < 0 || bind(b, (struct sockaddr *)&any, sizeof any) < 0) die("bind(udp)");
    bound_name(a, &na);
    bound_name(b, &nb);
    if (connect(a, (struct sockaddr *)&nb, sizeof nb) < 0 || connect(b, (struct sockaddr *)&na, sizeof na) < 0) die("connect(udp)");
    fds[0] = a;
    fds[1] = b;
    return;
  }
  int l = socket(AF_INET, SOCK_STREAM, 0), c = socket(AF_INET, SOCK_STREAM, 0);
  if (l < 0 || c < 0) die("socket(tcp)");
  if (bind(l, (struct sockaddr *)&any, sizeof any) < 0) die("bind(tcp)");
  if (listen(l, 1) < 0) die("listen");
  bound_name(l, &na);
  if (connect(c, (struct sockaddr *)&na, sizeof na) < 0) die("connect(tcp)");
  int s = accept(l, NULL, NULL);
  if (s < 0) die("accept");
  close(l);
  int one = 1;
  setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  fds[0] = c;
  fds[1] = s;
}

/* n iterations of send + receive; returns the receive calls beyond one per iteration. */
static long net_loop(int fds[2], int tcp, long n) {
  static char out[MSG], in[MSG];
  long extra = 0;
  for (long i = 0; i < n; i++) {
    if (sendto(fds[0], out, MSG, 0, NULL, 0) != MSG) die("sendto");
    ssize_t got = 0;
    for (int k = 0; got < MSG; k++) {
      ssize_t r = recvfrom(fds[1], in + got, MSG - got, 0, NULL, NULL);
      if (r <= 0) die("recvfrom");
      got += r;
      if (k) extra++;
      if (!tcp) break;
    }
  }
  return extra;
}

static void getpid_loop(long n) {
  for (long i = 0; i < n; i++) syscall(SYS_getpid);
}

int main(int argc, char **argv) {
  if (argc < 6) {
    fprintf(stderr, "usage: syscall_loop <cpu> <iterations> <warmup-iterations> <reps> udp|tcp|getpid...\n");
    return 1;
  }
  int cpu = atoi(argv[1]);
  long n = atol(argv[2]), warm = atol(argv[3]);
  int reps = atoi(argv[4]);
  if (n <= 0 || warm < 0 || reps <= 0 || reps > 1000) {
    fprintf(stderr, "syscall_loop: bad iteration counts\n");
    return 1;
  }
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  if (sched_setaffinity(0, sizeof set, &set) < 0) die("sched_setaffinity");

  printf("{\"cpu\":%d,\"iterations\":%ld,\"warmup\":%ld,\"reps\":%d,\"results\":{", cpu, n, warm, reps);
  uint64_t *ns = calloc((size_t)reps, sizeof *ns);
  if (!ns) die("calloc");
  for (int m = 5; m < argc; m++) {
    const char *mode = argv[m];
    int syscalls;
    long extra = 0;
    if (!strcmp(mode, "getpid")) {
      syscalls = 1;
      getpid_loop(warm);
      for (int r = 0; r < reps; r++) {
        uint64_t t0 = now_ns();
        getpid_loop(n);
        ns[r] = now_ns() - t0;
      }
    } else if (!strcmp(mode, "udp") || !strcmp(mode, "tcp")) {
      int tcp = mode[0] == 't', fds[2];
      syscalls = 2;
      make_pair(tcp ? SOCK_STREAM : SOCK_DGRAM, fds);
      net_loop(fds, tcp, warm);
      for (int r = 0; r < reps; r++) {
        uint64_t t0 = now_ns();
        extra += net_loop(fds, tcp, n);
        ns[r] = now_ns() - t0;
      }
      close(fds[0]);
      close(fds[1]);
    } else {
      fprintf(stderr, "syscall_loop: unknown mode %s\n", mode);
      return 1;
    }
    printf("%s\"%s\":{\"syscallsPerIter\":%d,\"extraRecvCalls\":%ld,\"nsPerSyscall\":[", m > 5 ? "," : "", mode, syscalls, extra);
    for (int r = 0; r < reps; r++) printf("%s%.3f", r ? "," : "", (double)ns[r] / (double)n / syscalls);
    printf("]}");
  }
  free(ns);
  printf("}}\n");
  return 0;
}
