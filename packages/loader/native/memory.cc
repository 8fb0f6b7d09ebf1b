// Memory for a caller's large, long-lived buffers (the tracer's row slabs and
// counter tables): anonymous mappings of their own, outside malloc, and a way
// to give the pages of a kept buffer back to the kernel.
//
// Why not a plain ArrayBuffer: Node allocates those with calloc. glibc serves
// a large one with mmap until the first such chunk is freed; from then on
// its dynamic mmap threshold (up to 32 MiB) puts chunks of that size on the
// heap, where calloc writes every page (the whole buffer resident at once,
// however little of it is used) and freed space stays with the process.
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>

#include "common.h"

namespace tb {

static size_t PageSize() {
  static const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  return page;
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
  size_t* hint = new size_t(len);
  try {
    return Napi::ArrayBuffer::New(
        env, p, len, [](Napi::Env, void* data, size_t* n) {
          munmap(data, *n);
          delete n;
        },
        hint);
  } catch (...) {  // e.g. a runtime that refuses external buffers
    munmap(p, len);
    delete hint;
    throw;
  }
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

void InitMemory(Napi::Env env, Napi::Object exports) {
  exports.Set("pages_alloc", Napi::Function::New(env, PagesAlloc));
  exports.Set("pages_release", Napi::Function::New(env, PagesRelease));
}

}  // namespace tb
