// Records the last failed bpf(2) and perf_event_open(2) call of each thread.
// The addon is linked with -Wl,--wrap=syscall: libbpf (linked statically)
// makes every bpf(2) call through syscall(__NR_bpf, cmd, ...), which lands
// here first. Errors then say which system call failed without parsing
// libbpf's log.
#include <linux/bpf.h>
#include <sys/syscall.h>

#include <cerrno>
#include <cstdarg>

#include "common.h"

extern "C" long __real_syscall(long nr, ...);

namespace tb {

static thread_local int tl_err = 0;
static thread_local const char* tl_name = nullptr;

static const char* BpfCmdName(long cmd) {
  switch (cmd) {
#define C(x) \
  case x:    \
    return #x;
    C(BPF_MAP_CREATE) C(BPF_MAP_LOOKUP_ELEM) C(BPF_MAP_UPDATE_ELEM) C(BPF_MAP_DELETE_ELEM)
    C(BPF_MAP_GET_NEXT_KEY) C(BPF_PROG_LOAD) C(BPF_OBJ_PIN) C(BPF_OBJ_GET) C(BPF_PROG_ATTACH)
    C(BPF_PROG_DETACH) C(BPF_PROG_TEST_RUN) C(BPF_PROG_GET_NEXT_ID) C(BPF_MAP_GET_NEXT_ID)
    C(BPF_PROG_GET_FD_BY_ID) C(BPF_MAP_GET_FD_BY_ID) C(BPF_OBJ_GET_INFO_BY_FD) C(BPF_PROG_QUERY)
    C(BPF_RAW_TRACEPOINT_OPEN) C(BPF_BTF_LOAD) C(BPF_BTF_GET_FD_BY_ID) C(BPF_TASK_FD_QUERY)
    C(BPF_MAP_LOOKUP_AND_DELETE_ELEM) C(BPF_MAP_FREEZE) C(BPF_BTF_GET_NEXT_ID)
    C(BPF_MAP_LOOKUP_BATCH) C(BPF_MAP_LOOKUP_AND_DELETE_BATCH) C(BPF_MAP_UPDATE_BATCH)
    C(BPF_MAP_DELETE_BATCH) C(BPF_LINK_CREATE) C(BPF_LINK_UPDATE) C(BPF_LINK_GET_FD_BY_ID)
    C(BPF_LINK_GET_NEXT_ID) C(BPF_ENABLE_STATS) C(BPF_ITER_CREATE) C(BPF_LINK_DETACH)
    C(BPF_PROG_BIND_MAP)
#undef C
    default:
      return "bpf";
  }
}

void ResetFailedSyscall() {
  tl_err = 0;
  tl_name = nullptr;
}

FailedSyscall LastFailedSyscall() {
  FailedSyscall f;
  if (tl_name) {
    f.name = tl_name;
    f.err = tl_err;
  }
  return f;
}

}  // namespace tb

extern "C" __attribute__((visibility("hidden"))) long __wrap_syscall(long nr, ...) {
  va_list ap;
  va_start(ap, nr);
  long a1 = va_arg(ap, long), a2 = va_arg(ap, long), a3 = va_arg(ap, long);
  long a4 = va_arg(ap, long), a5 = va_arg(ap, long), a6 = va_arg(ap, long);
  va_end(ap);
  long ret = __real_syscall(nr, a1, a2, a3, a4, a5, a6);
  if (ret < 0 && (nr == __NR_bpf || nr == __NR_perf_event_open)) {
    int saved = errno;
    tb::tl_err = saved;
    tb::tl_name = nr == __NR_bpf ? tb::BpfCmdName(a1) : "perf_event_open";
    errno = saved;
  }
  return ret;
}
