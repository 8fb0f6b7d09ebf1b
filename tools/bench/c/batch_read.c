// The C floor of the map-read benchmark: read every element of an existing
// BPF map with BPF_MAP_LOOKUP_BATCH (libbpf's bpf_map_lookup_batch) into
// buffers allocated and touched once, R times, and print how long each
// repetition took as JSON. Process start-up, the map fd lookup and the buffer
// allocation are outside the timed part.
//
//   batch_read <map-id> [batch-size=4096] [reps=5] [warmup=1]
//
// stdout (one line): {"libbpf":"v1.1","linked":"...","mapId":..,"keySize":..,
//   "valueBytes":..,"maxEntries":..,"batchSize":..,"calls":..,"count":..,
//   "counts":[..],"samplesNs":[..]}
// Exit status 1 on any error (message on stderr).
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#ifndef LINKED_AGAINST
#define LINKED_AGAINST "unknown"
#endif

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int is_percpu(uint32_t type) {
  return type == BPF_MAP_TYPE_PERCPU_HASH || type == BPF_MAP_TYPE_PERCPU_ARRAY ||
         type == BPF_MAP_TYPE_LRU_PERCPU_HASH || type == BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE;
}

static long arg(int argc, char **argv, int i, long def) {
  if (argc <= i) return def;
  char *end;
  long v = strtol(argv[i], &end, 10);
  if (*end || v < 0) {
    fprintf(stderr, "batch_read: bad argument %d: %s\n", i, argv[i]);
    exit(2);
  }
  return v;
}

// One whole-map read. Returns the element count, or -1 (errno set).
// *calls gets the number of bpf(BPF_MAP_LOOKUP_BATCH) calls made.
static long read_all(int fd, uint8_t *keys, uint8_t *values, size_t ks, size_t vs, uint32_t capacity,
                     uint32_t batch, uint8_t *in, uint8_t *out, long *calls) {
  LIBBPF_OPTS(bpf_map_batch_opts, opts);
  uint32_t total = 0;
  int started = 0;
  *calls = 0;
  for (;;) {
    uint32_t n = capacity - total < batch ? capacity - total : batch;
    if (n == 0) {
      // Buffers full but the kernel has not reported the end: a hash map can
      // briefly hold more than max_entries. Not expected here; report it.
      errno = E2BIG;
      return -1;
    }
    int err = bpf_map_lookup_batch(fd, started ? in : NULL, out, keys + (size_t)total * ks,
                                   values + (size_t)total * vs, &n, &opts);
    (*calls)++;
    if (err && errno != ENOENT) return -1;
    total += n;
    if (err) return total;  // ENOENT: end of map (possibly with the last elements)
    memcpy(in, out, ks < 8 ? 8 : ks);
    started = 1;
  }
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s <map-id> [batch-size=4096] [reps=5] [warmup=1]\n", argv[0]);
    return 2;
  }
  uint32_t id = (uint32_t)arg(argc, argv, 1, 0);
  uint32_t batch = (uint32_t)arg(argc, argv, 2, 4096);
  long reps = arg(argc, argv, 3, 5);
  long warmup = arg(argc, argv, 4, 1);
  if (batch == 0 || reps == 0) {
    fprintf(stderr, "batch_read: batch size and reps must be > 0\n");
    return 2;
  }

  int fd = bpf_map_get_fd_by_id(id);
  if (fd < 0) {
    fprintf(stderr, "batch_read: bpf_map_get_fd_by_id(%u): %s\n", id, strerror(errno));
    return 1;
  }
  struct bpf_map_info info;
  memset(&info, 0, sizeof(info));
  uint32_t len = sizeof(info);
  if (bpf_obj_get_info_by_fd(fd, &info, &len)) {
    fprintf(stderr, "batch_read: bpf_obj_get_info_by_fd: %s\n", strerror(errno));
    return 1;
  }
  size_t ks = info.key_size;
  size_t vs = info.value_size;
  if (is_percpu(info.type)) vs = (vs + 7) / 8 * 8 * (size_t)libbpf_num_possible_cpus();
  uint32_t capacity = info.max_entries ? info.max_entries : 1;

  // Preallocated and touched once, like the loader's reused buffers.
  uint8_t *keys = malloc((size_t)capacity * ks);
  uint8_t *values = malloc((size_t)capacity * vs);
  size_t cur = ks < 8 ? 8 : ks;
  uint8_t *in = calloc(1, cur), *out = calloc(1, cur);
  uint64_t *samples = calloc((size_t)reps, sizeof(uint64_t));
  long *counts = calloc((size_t)reps, sizeof(long));
  if (!keys || !values || !in || !out || !samples || !counts) {
    fprintf(stderr, "batch_read: out of memory\n");
    return 1;
  }
  memset(keys, 0, (size_t)capacity * ks);
  memset(values, 0, (size_t)capacity * vs);

  long calls = 0;
  for (long i = 0; i < warmup; i++) {
    if (read_all(fd, keys, values, ks, vs, capacity, batch, in, out, &calls) < 0) {
      fprintf(stderr, "batch_read: BPF_MAP_LOOKUP_BATCH: %s\n", strerror(errno));
      return 1;
    }
  }
  for (long i = 0; i < reps; i++) {
    uint64_t t0 = now_ns();
    long n = read_all(fd, keys, values, ks, vs, capacity, batch, in, out, &calls);
    uint64_t t1 = now_ns();
    if (n < 0) {
      fprintf(stderr, "batch_read: BPF_MAP_LOOKUP_BATCH: %s\n", strerror(errno));
      return 1;
    }
    samples[i] = t1 - t0;
    counts[i] = n;
  }

  printf("{\"libbpf\":\"%s\",\"linked\":\"%s\",\"mapId\":%u,\"keySize\":%zu,\"valueBytes\":%zu,"
         "\"maxEntries\":%u,\"batchSize\":%u,\"calls\":%ld,\"count\":%ld,\"counts\":[",
         libbpf_version_string(), LINKED_AGAINST, id, ks, vs, info.max_entries, batch, calls, counts[reps - 1]);
  for (long i = 0; i < reps; i++) printf("%s%ld", i ? "," : "", counts[i]);
  printf("],\"samplesNs\":[");
  for (long i = 0; i < reps; i++) printf("%s%llu", i ? "," : "", (unsigned long long)samples[i]);
  printf("]}\n");
  close(fd);
  return 0;
}
