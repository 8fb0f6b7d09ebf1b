// Program statistics: run count and run time (counted by the kernel while
// BPF stats are enabled) and recursion misses, from BPF_OBJ_GET_INFO_BY_FD;
// BPF_ENABLE_STATS, whose fd keeps stats on until it is closed.
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstring>

#include "common.h"

namespace tb {

// struct bpf_prog_info as the kernel fills it, sized past the newest field we
// read: recursion_misses (5.12) sits right after run_cnt. Older kernels copy
// fewer bytes and say so in the returned length.
union ProgInfoRaw {
  bpf_prog_info info;
  uint8_t raw[512];
};
static constexpr size_t kRecursionMissesOff = offsetof(bpf_prog_info, run_cnt) + sizeof(uint64_t);
static_assert(kRecursionMissesOff + sizeof(uint64_t) <= sizeof(ProgInfoRaw), "room for recursion_misses");

// program_info(prog) -> { id, runCount, runTimeNs, recursionMisses? }
static Napi::Value ProgramInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Handle& h = Open(info[0], Kind::Program, true, Op::ProgramInfo);
  ProgInfoRaw pi{};
  uint32_t len = sizeof(pi);
  int fd = bpf_program__fd(h.prog);
  if (fd < 0) ThrowCode(env, "ERR_BPF_NOT_LOADED", Op::ProgramInfo, "the program was not loaded (autoload off)", CtxOf(h));
  if (bpf_obj_get_info_by_fd(fd, &pi, &len)) ThrowErrno(env, errno, Op::ProgramInfo, CtxOf(h));
  Napi::Object o = Napi::Object::New(env);
  o.Set("id", pi.info.id);
  o.Set("runCount", Napi::BigInt::New(env, static_cast<uint64_t>(pi.info.run_cnt)));
  o.Set("runTimeNs", Napi::BigInt::New(env, static_cast<uint64_t>(pi.info.run_time_ns)));
  if (len >= kRecursionMissesOff + sizeof(uint64_t)) {
    uint64_t misses;
    memcpy(&misses, pi.raw + kRecursionMissesOff, sizeof(misses));
    o.Set("recursionMisses", Napi::BigInt::New(env, misses));
  }
  return o;
}

// enable_stats() -> fd: BPF_ENABLE_STATS(BPF_STATS_RUN_TIME); stats stay on
// (kernel.bpf_stats_enabled reads 1) until every such fd is closed.
static Napi::Value EnableStats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ResetFailedSyscall();
  int fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
  if (fd < 0) ThrowErrno(env, LibbpfErr(fd), Op::EnableStats, ErrCtx{"", "", "", "", "BPF_ENABLE_STATS"});
  return Napi::Number::New(env, fd);
}

void InitStats(Napi::Env env, Napi::Object exports) {
  exports.Set("program_info", Napi::Function::New(env, ProgramInfo));
  exports.Set("enable_stats", Napi::Function::New(env, EnableStats));
}

}  // namespace tb
