// Fill an existing BPF map (by id: another process's, e.g. a running
// tracer's) with the elements in two files, by BPF_MAP_UPDATE_BATCH.
//
//   map_fill <map-id> <keys-file> <values-file>
//
// The files hold count x key_size and count x value_size bytes. Prints
// {"filled":N}. Exit status 1 on any error (message on stderr).
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

static uint8_t *slurp(const char *path, long *size) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  *size = ftell(f);
  fseek(f, 0, SEEK_SET);
  uint8_t *b = malloc(*size > 0 ? *size : 1);
  if (b && fread(b, 1, *size, f) != (size_t)*size) {
    free(b);
    b = NULL;
  }
  fclose(f);
  return b;
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: map_fill <map-id> <keys-file> <values-file>\n");
    return 2;
  }
  int fd = bpf_map_get_fd_by_id((uint32_t)atoi(argv[1]));
  if (fd < 0) {
    fprintf(stderr, "map_fill: map id %s: %s\n", argv[1], strerror(errno));
    return 1;
  }
  struct bpf_map_info info;
  uint32_t len = sizeof info;
  memset(&info, 0, sizeof info);
  if (bpf_obj_get_info_by_fd(fd, &info, &len) != 0) {
    fprintf(stderr, "map_fill: map info: %s\n", strerror(errno));
    return 1;
  }
  long ksize, vsize;
  uint8_t *keys = slurp(argv[2], &ksize), *values = slurp(argv[3], &vsize);
  if (!keys || !values) {
    fprintf(stderr, "map_fill: cannot read the element files: %s\n", strerror(errno));
    return 1;
  }
  long count = ksize / info.key_size;
  if (ksize % info.key_size || vsize != count * (long)info.value_size) {
    fprintf(stderr, "map_fill: %ld key bytes and %ld value bytes are not whole elements of %u + %u bytes\n", ksize, vsize, info.key_size, info.value_size);
    return 1;
  }
  LIBBPF_OPTS(bpf_map_batch_opts, opts);
  long done = 0;
  while (done < count) {
    uint32_t n = count - done > 65536 ? 65536 : (uint32_t)(count - done);
    if (bpf_map_update_batch(fd, keys + done * info.key_size, values + done * info.value_size, &n, &opts) != 0) {
      fprintf(stderr, "map_fill: update batch at %ld: %s\n", done, strerror(errno));
      return 1;
    }
    done += n;
  }
  printf("{\"filled\":%ld}\n", done);
  return 0;
}
