#include <atomic>
#include <cstdarg>
#include <cstdio>
#include <mutex>

#include "common.h"

namespace tb {

static thread_local std::string* tl_log = nullptr;
static std::atomic<int> g_stderr_level{-1};

LogCapture::LogCapture() : prev_(tl_log) {
  tl_log = &buf_;
  ResetFailedSyscall();
}
LogCapture::~LogCapture() { tl_log = prev_; }
std::string LogCapture::Take() {
  std::string out;
  out.swap(buf_);
  return out;
}

FailedSyscall LogCapture::Failed(int err) const {
  if (err < 0) err = -err;
  FailedSyscall f = LastFailedSyscall();
  if (f.err != err) return {};
  return f;
}

static int Print(enum libbpf_print_level level, const char* fmt, va_list args) {
  char small[1024];
  va_list copy;
  va_copy(copy, args);
  int n = vsnprintf(small, sizeof(small), fmt, copy);
  va_end(copy);
  if (n < 0) return 0;
  std::string line;
  if (static_cast<size_t>(n) < sizeof(small)) {
    line.assign(small, n);
  } else {
    line.resize(n + 1);
    vsnprintf(&line[0], n + 1, fmt, args);
    line.resize(n);
  }
  // Only warnings and info reach the captured log; debug output is huge.
  if (tl_log && level <= LIBBPF_INFO) tl_log->append(line);
  if (static_cast<int>(level) <= g_stderr_level.load()) fputs(line.c_str(), stderr);
  return n;
}

void InstallPrint() {
  static std::once_flag once;
  std::call_once(once, [] { libbpf_set_print(Print); });
}

void SetStderrLevel(int level) { g_stderr_level.store(level); }

}  // namespace tb
