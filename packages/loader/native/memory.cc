// Memory for a caller's large, long-lived buffers (the tracer's row slabs and
// counter tables): anonymous mappings of their own, outside malloc, and a way
// to give the pages of a kept buffer back to the kernel.
//
// Why not a plain ArrayBuffer: Node allocates those with calloc. glibc serves
// a large one with mmap until the first such chunk is freed; from then on
// its dynamic mmap threshold (up to 32 MiB) puts chunks of that size on the
// heap, where calloc writes every page (the whole buffer resident at once,
// however little of it is used) and freed space stays with the process.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>

#include "common.h"

namespace tb {

static size_t PageSize() {
  static const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  return page;
}

// An ArrayBuffer over the mapping [p, p + len), unmapped when it is collected
// (and at once if the runtime refuses external buffers).
static Napi::Value MappedBuffer(Napi::Env env, void* p, size_t len) {
  size_t* hint = new size_t(len);
  try {
    return Napi::ArrayBuffer::New(
        env, p, len, [](Napi::Env, void* data, size_t* n) {
          munmap(data, *n);
          delete n;
        },
        hint);
  } catch (...) {
    munmap(p, len);
    delete hint;
    throw;
  }
}

// pages_alloc(bytes) -> ArrayBuffer: zero-filled anonymous memory mapped for
// this buffer alone; a page becomes resident when first written. Unmapped
// when the buffer is garbage-collected.
static Napi::Value PagesAlloc(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  double d = info[0].IsNumber() ? info[0].As<Napi::Number>().DoubleValue() : -1;
  if (!(d >= 0 && d <= 9007199254740991.0 && d == std::floor(d))) ThrowCode(env, "ERR_BPF_ARG", Op::PagesAlloc, "bytes must be a non-negative integer");
  size_t len = static_cast<size_t>(d);
  if (len == 0) return Napi::ArrayBuffer::New(env, 0);
  void* p = mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) ThrowErrno(env, errno, Op::PagesAlloc, ErrCtx{"", "", "", "", "mmap"});
  return MappedBuffer(env, p, len);
}

// pages_release(view) -> bytes: madvise(MADV_DONTNEED) on the whole pages
// inside the view's bytes (the partial pages at either end are kept). They
// read as zero afterwards and cost no memory until written again. Any
// buffer's interior pages may be released (malloc keeps its headers outside
// the bytes it hands out); the buffer stays usable.
static Napi::Value PagesRelease(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Bytes b = GetBytes(info[0], "view", Op::PagesRelease);
  const uintptr_t page = PageSize();
  uintptr_t from = (reinterpret_cast<uintptr_t>(b.data) + page - 1) & ~(page - 1);
  uintptr_t to = (reinterpret_cast<uintptr_t>(b.data) + b.len) & ~(page - 1);
  if (b.len == 0 || to <= from) return Napi::Number::New(env, 0);
  if (madvise(reinterpret_cast<void*>(from), to - from, MADV_DONTNEED) != 0) ThrowErrno(env, errno, Op::PagesRelease, ErrCtx{"", "", "", "", "madvise"});
  return Napi::Number::New(env, static_cast<double>(to - from));
}

// file_map_ro(path) -> ArrayBuffer | null: the whole file in a private,
// read-only mapping (unmapped when the buffer is garbage-collected), or null
// when the file cannot be mapped so (no size, or its filesystem refuses:
// /sys/kernel/btf/vmlinux can be mapped from 6.16 on, read-only and private
// only). Nothing is copied and no page is read through a syscall; pages the
// kernel maps at mmap time cost no fault either. Writing to the buffer kills
// the process (SIGSEGV): the caller only reads it. Open and fstat errors throw.
static Napi::Value FileMapRo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = GetString(info[0], "path", Op::FileMapRo);
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) ThrowErrno(env, errno, Op::FileMapRo, ErrCtx{"", "", "", path, "open"});
  struct stat st;
  if (fstat(fd, &st) != 0) {
    int e = errno;
    close(fd);
    ThrowErrno(env, e, Op::FileMapRo, ErrCtx{"", "", "", path, "fstat"});
  }
  size_t len = st.st_size > 0 ? static_cast<size_t>(st.st_size) : 0;
  void* p = len > 0 ? mmap(nullptr, len, PROT_READ, MAP_PRIVATE, fd, 0) : MAP_FAILED;
  close(fd);  // the mapping keeps the file
  if (p == MAP_FAILED) return env.Null();
  return MappedBuffer(env, p, len);
}

void InitMemory(Napi::Env env, Napi::Object exports) {
  exports.Set("file_map_ro", Napi::Function::New(env, FileMapRo));
  exports.Set("pages_alloc", Napi::Function::New(env, PagesAlloc));
  exports.Set("pages_release", Napi::Function::New(env, PagesRelease));
}

}  // namespace tb
