// Feature probes: each one tries the real thing (create, load, attach) and
// reports what the kernel said; nothing is read from version numbers. The TS
// layer caches the results per process.
#include <fcntl.h>
#include <linux/perf_event.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <mutex>

#include "common.h"

namespace tb {

static Napi::Object Result(Napi::Env env, int err, const std::string& op, const std::string& detail = "") {
  Napi::Object o = Napi::Object::New(env);
  if (err < 0) err = -err;
  o.Set("ok", err == 0);
  if (err) {
    const char* name = ErrnoName(err);
    o.Set("code", name ? name : ("ERRNO_" + std::to_string(err)));
    o.Set("errno", err);
  }
  o.Set("op", op);
  if (!detail.empty()) o.Set("detail", detail);
  return o;
}

class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

// mov r0, 0; exit
static const bpf_insn kReturnZero[] = {
    {BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 0},
    {BPF_JMP | BPF_EXIT, 0, 0, 0, 0},
};

static int LoadTrivial(bpf_prog_type type, bpf_attach_type eat, uint32_t btf_id) {
  LIBBPF_OPTS(bpf_prog_load_opts, opts);
  opts.expected_attach_type = eat;
  opts.attach_btf_id = btf_id;
  int fd = bpf_prog_load(type, "tb_probe", "GPL", kReturnZero, 2, &opts);
  return fd < 0 ? -errno : fd;
}

static btf* VmlinuxBtf(int* err) {
  static std::mutex mu;
  static btf* cached = nullptr;
  static int cached_err = 0;
  std::lock_guard<std::mutex> lock(mu);
  if (!cached && !cached_err) {
    LogCapture cap;  // keep libbpf's messages out of stderr
    errno = 0;
    cached = btf__load_vmlinux_btf();
    if (!cached) cached_err = errno ? errno : ENOENT;
  }
  *err = cached_err;
  return cached;
}

static Napi::Value KernelBtf(const Napi::CallbackInfo& info) {
  int err = 0;
  VmlinuxBtf(&err);
  return Result(info.Env(), err, "load kernel BTF", err ? "no readable /sys/kernel/btf/vmlinux" : "");
}

// feature_map_type(type)
static Napi::Value MapType(const Napi::CallbackInfo& info) {
  auto type = static_cast<bpf_map_type>(info[0].As<Napi::Number>().Uint32Value());
  LogCapture cap;
  int r = libbpf_probe_bpf_map_type(type, nullptr);
  int err = r == 1 ? 0 : r == 0 ? EOPNOTSUPP : -r;
  return Result(info.Env(), err, "BPF_MAP_CREATE");
}

static Napi::Value BatchOps(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Fd fd(bpf_map_create(BPF_MAP_TYPE_HASH, "tb_probe", 4, 4, 1, nullptr));
  if (fd.get() < 0) return Result(env, errno, "BPF_MAP_CREATE");
  uint32_t key = 0, value = 0, out = 0, count = 1;
  uint64_t cursor = 0;
  (void)out;
  int err = bpf_map_lookup_batch(fd.get(), nullptr, &cursor, &key, &value, &count, nullptr);
  // An empty map answers ENOENT when the command exists.
  return Result(env, err == 0 || errno == ENOENT ? 0 : errno, "BPF_MAP_LOOKUP_BATCH");
}

static int PerfOpen(perf_event_attr* attr) {
  int fd = syscall(__NR_perf_event_open, attr, -1, 0, -1, PERF_FLAG_FD_CLOEXEC);
  return fd < 0 ? -errno : fd;
}

static int ReadInt(const std::string& path, int* out) {
  std::ifstream f(path);
  if (!f) return -ENOENT;
  if (!(f >> *out)) return -EINVAL;
  return 0;
}

// feature_kprobe(func): the perf kprobe PMU (what libbpf uses first).
static Napi::Value Kprobe(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string func = info[0].As<Napi::String>();
  int type = 0;
  if (ReadInt("/sys/bus/event_source/devices/kprobe/type", &type) < 0)
    return Result(env, ENOENT, "perf_event_open kprobe",
                  "no kprobe PMU (/sys/bus/event_source/devices/kprobe)");
  Fd prog(LoadTrivial(BPF_PROG_TYPE_KPROBE, static_cast<bpf_attach_type>(0), 0));
  if (prog.get() < 0) return Result(env, prog.get(), "BPF_PROG_LOAD kprobe");
  perf_event_attr attr{};
  attr.size = sizeof(attr);
  attr.type = type;
  attr.config1 = reinterpret_cast<uint64_t>(func.c_str());
  Fd pfd(PerfOpen(&attr));
  if (pfd.get() < 0) return Result(env, pfd.get(), "perf_event_open kprobe", func);
  if (ioctl(pfd.get(), PERF_EVENT_IOC_SET_BPF, prog.get()) < 0)
    return Result(env, errno, "PERF_EVENT_IOC_SET_BPF", func);
  return Result(env, 0, "perf_event_open kprobe", func);
}

// feature_kprobe_tracefs(tracefs): is the legacy kprobe_events interface there?
static Napi::Value KprobeTracefs(const Napi::CallbackInfo& info) {
  std::string tracefs = info[0].As<Napi::String>();
  std::string path = tracefs + "/kprobe_events";
  int err = access(path.c_str(), W_OK) == 0 ? 0 : errno;
  return Result(info.Env(), err, "open kprobe_events", path);
}

// feature_trace(kind, target): fentry / fexit (target: kernel function) or
// tp_btf (target: raw tracepoint name): load and attach a trivial program.
static Napi::Value Trace(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string kind = info[0].As<Napi::String>();
  std::string target = info[1].As<Napi::String>();
  int err = 0;
  btf* vm = VmlinuxBtf(&err);
  if (!vm) return Result(env, err, "load kernel BTF", "needs /sys/kernel/btf/vmlinux");
  bpf_attach_type eat = kind == "fentry" ? BPF_TRACE_FENTRY : kind == "fexit" ? BPF_TRACE_FEXIT : BPF_TRACE_RAW_TP;
  int id = kind == "tp_btf" ? btf__find_by_name_kind(vm, ("btf_trace_" + target).c_str(), BTF_KIND_TYPEDEF)
                            : btf__find_by_name_kind(vm, target.c_str(), BTF_KIND_FUNC);
  if (id < 0) return Result(env, ENOENT, "find BTF id", target);
  Fd prog(LoadTrivial(BPF_PROG_TYPE_TRACING, eat, id));
  if (prog.get() < 0) return Result(env, prog.get(), "BPF_PROG_LOAD " + kind, target);
  Fd link(bpf_raw_tracepoint_open(nullptr, prog.get()));
  if (link.get() < 0) return Result(env, errno, "BPF_RAW_TRACEPOINT_OPEN " + kind, target);
  return Result(env, 0, "attach " + kind, target);
}

// feature_tracepoint(tracefs, category, name)
static Napi::Value Tracepoint(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string tracefs = info[0].As<Napi::String>();
  std::string cat = info[1].As<Napi::String>();
  std::string name = info[2].As<Napi::String>();
  int id = 0;
  std::string idpath = tracefs + "/events/" + cat + "/" + name + "/id";
  int err = ReadInt(idpath, &id);
  if (err) return Result(env, err, "read tracepoint id", idpath);
  Fd prog(LoadTrivial(BPF_PROG_TYPE_TRACEPOINT, static_cast<bpf_attach_type>(0), 0));
  if (prog.get() < 0) return Result(env, prog.get(), "BPF_PROG_LOAD tracepoint");
  perf_event_attr attr{};
  attr.size = sizeof(attr);
  attr.type = PERF_TYPE_TRACEPOINT;
  attr.config = id;
  attr.sample_period = 1;
  Fd pfd(PerfOpen(&attr));
  if (pfd.get() < 0) return Result(env, pfd.get(), "perf_event_open tracepoint", cat + "/" + name);
  if (ioctl(pfd.get(), PERF_EVENT_IOC_SET_BPF, prog.get()) < 0)
    return Result(env, errno, "PERF_EVENT_IOC_SET_BPF", cat + "/" + name);
  return Result(env, 0, "attach tracepoint", cat + "/" + name);
}

// feature_raw_tracepoint(name)
static Napi::Value RawTracepoint(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name = info[0].As<Napi::String>();
  Fd prog(LoadTrivial(BPF_PROG_TYPE_RAW_TRACEPOINT, static_cast<bpf_attach_type>(0), 0));
  if (prog.get() < 0) return Result(env, prog.get(), "BPF_PROG_LOAD raw_tracepoint");
  Fd link(bpf_raw_tracepoint_open(name.c_str(), prog.get()));
  if (link.get() < 0) return Result(env, errno, "BPF_RAW_TRACEPOINT_OPEN", name);
  return Result(env, 0, "attach raw_tracepoint", name);
}

// memlock_limit() -> current RLIMIT_MEMLOCK (bytes) or -1 when unlimited
static Napi::Value MemlockLimit(const Napi::CallbackInfo& info) {
  rlimit rl{};
  getrlimit(RLIMIT_MEMLOCK, &rl);
  return Napi::Number::New(info.Env(), rl.rlim_cur == RLIM_INFINITY ? -1.0 : static_cast<double>(rl.rlim_cur));
}

// link_ids() -> ids of every BPF link in the system (BPF_LINK_GET_NEXT_ID)
static Napi::Value LinkIds(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Array out = Napi::Array::New(env);
  uint32_t id = 0, i = 0;
  for (;;) {
    if (bpf_link_get_next_id(id, &id)) {
      if (errno == ENOENT) break;
      ThrowErrno(env, errno, "BPF_LINK_GET_NEXT_ID");
    }
    out.Set(i++, id);
  }
  return out;
}

void InitFeatures(Napi::Env env, Napi::Object exports) {
  exports.Set("link_ids", Napi::Function::New(env, LinkIds));
  exports.Set("feature_kernel_btf", Napi::Function::New(env, KernelBtf));
  exports.Set("feature_map_type", Napi::Function::New(env, MapType));
  exports.Set("feature_batch_ops", Napi::Function::New(env, BatchOps));
  exports.Set("feature_kprobe", Napi::Function::New(env, Kprobe));
  exports.Set("feature_kprobe_tracefs", Napi::Function::New(env, KprobeTracefs));
  exports.Set("feature_trace", Napi::Function::New(env, Trace));
  exports.Set("feature_tracepoint", Napi::Function::New(env, Tracepoint));
  exports.Set("feature_raw_tracepoint", Napi::Function::New(env, RawTracepoint));
  exports.Set("memlock_limit", Napi::Function::New(env, MemlockLimit));
}

}  // namespace tb
