// Feature probes: each one tries the real thing (create, load, attach) and
// reports what the kernel said; nothing is read from version numbers. The TS
// layer caches the results per process.
#include <fcntl.h>
#include <linux/perf_event.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <mutex>
#include <string_view>

#include "common.h"

namespace tb {

// { ok, errno?, opId, syscall?, detail? }: TS names the errno.
static Napi::Object Result(Napi::Env env, int err, Op op, const std::string& detail = "",
                           const char* syscall = nullptr) {
  Napi::Object o = Napi::Object::New(env);
  if (err < 0) err = -err;
  o.Set("ok", err == 0);
  if (err) o.Set("errno", err);
  o.Set("opId", OpId(op));
  if (err && syscall) o.Set("syscall", syscall);
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

// The id of the first type of `kind` named `name` in the kernel's BTF, by one
// walk over /sys/kernel/btf/vmlinux's type section (a few ms), without
// libbpf's full parse (btf__load_vmlinux_btf: ~60-75 ms here, which the
// tracer's object load pays again anyway). 0: not found; -1: the file could
// not be read or has a kind this walk does not know (the caller falls back to
// libbpf).
static int FastFindKernelBtfId(const std::string& name, uint32_t kind) {
  // sysfs hands it out 4 KiB a read(); its size is known (st_size): one
  // buffer, freed on return (the TS layer caches the probes' answers).
  int fd = open("/sys/kernel/btf/vmlinux", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  struct stat st;
  size_t size = fstat(fd, &st) == 0 && st.st_size > 0 ? static_cast<size_t>(st.st_size) : 0;
  std::unique_ptr<char[]> buf(new char[size + 1]);
  size_t n = 0;
  while (n < size) {
    ssize_t r = read(fd, buf.get() + n, size - n);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    n += static_cast<size_t>(r);
  }
  close(fd);
  if (n != size) return -1;
  std::string_view data(buf.get(), n);
  if (data.size() < sizeof(btf_header)) return -1;
  btf_header h;
  memcpy(&h, data.data(), sizeof(h));
  if (h.magic != BTF_MAGIC || h.hdr_len < sizeof(btf_header)) return -1;
  const size_t types = static_cast<size_t>(h.hdr_len) + h.type_off, strs = static_cast<size_t>(h.hdr_len) + h.str_off;
  if (types + h.type_len > data.size() || strs + h.str_len > data.size()) return -1;
  const char* base = data.data();
  buf[n] = '\0';  // a last name without its NUL stops here
  size_t at = types, end = types + h.type_len;
  for (int id = 1; at + sizeof(btf_type) <= end; id++) {
    btf_type t;
    memcpy(&t, base + at, sizeof(t));
    // The kind is 5 bits (older uapi headers mask 4: FLOAT, 16, would read as 0).
    uint32_t k = (t.info >> 24) & 0x1f, vlen = t.info & 0xffff;
    if (k == kind && t.name_off < h.str_len && strcmp(base + strs + t.name_off, name.c_str()) == 0) return id;
    at += sizeof(btf_type);
    switch (k) {
      case 1: case 14: case 17: at += 4; break;                    // INT, VAR, DECL_TAG
      case 3: at += 12; break;                                      // ARRAY
      case 4: case 5: case 15: case 19: at += 12 * vlen; break;     // STRUCT, UNION, DATASEC, ENUM64
      case 6: case 13: at += 8 * vlen; break;                       // ENUM, FUNC_PROTO
      case 2: case 7: case 8: case 9: case 10: case 11: case 12: case 16: case 18: break;
      default: return -1;
    }
  }
  return 0;
}

static Napi::Value KernelBtf(const Napi::CallbackInfo& info) {
  int err = 0;
  VmlinuxBtf(&err);
  return Result(info.Env(), err, Op::ProbeKernelBtf, err ? "no readable /sys/kernel/btf/vmlinux" : "");
}

// feature_ringbuf(): create a one-page ring buffer map; the kernel's own errno
// (EPERM without privilege, EINVAL for an unknown map type) is the answer.
static Napi::Value Ringbuf(const Napi::CallbackInfo& info) {
  Fd fd(bpf_map_create(BPF_MAP_TYPE_RINGBUF, "tb_probe", 0, 0, static_cast<uint32_t>(sysconf(_SC_PAGESIZE)), nullptr));
  return Result(info.Env(), fd.get() < 0 ? errno : 0, Op::ProbeMapCreate, "", "BPF_MAP_CREATE");
}

static Napi::Value BatchOps(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Fd fd(bpf_map_create(BPF_MAP_TYPE_HASH, "tb_probe", 4, 4, 1, nullptr));
  if (fd.get() < 0) return Result(env, errno, Op::ProbeMapCreate, "", "BPF_MAP_CREATE");
  uint32_t key = 0, value = 0, out = 0, count = 1;
  uint64_t cursor = 0;
  (void)out;
  int err = bpf_map_lookup_batch(fd.get(), nullptr, &cursor, &key, &value, &count, nullptr);
  // An empty map answers ENOENT when the command exists.
  return Result(env, err == 0 || errno == ENOENT ? 0 : errno, Op::ProbeBatchOps, "", "BPF_MAP_LOOKUP_BATCH");
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
  std::string func = GetString(info[0], "the function", Op::ProbeKprobePmu);
  int type = 0;
  if (ReadInt("/sys/bus/event_source/devices/kprobe/type", &type) < 0)
    return Result(env, ENOENT, Op::ProbeKprobePmu, "no kprobe PMU (/sys/bus/event_source/devices/kprobe)");
  Fd prog(LoadTrivial(BPF_PROG_TYPE_KPROBE, static_cast<bpf_attach_type>(0), 0));
  if (prog.get() < 0) return Result(env, prog.get(), Op::ProbeProgLoad, "kprobe", "BPF_PROG_LOAD");
  perf_event_attr attr{};
  attr.size = sizeof(attr);
  attr.type = type;
  attr.config1 = reinterpret_cast<uint64_t>(func.c_str());
  Fd pfd(PerfOpen(&attr));
  if (pfd.get() < 0) return Result(env, pfd.get(), Op::ProbeKprobePmu, func, "perf_event_open");
  if (ioctl(pfd.get(), PERF_EVENT_IOC_SET_BPF, prog.get()) < 0)
    return Result(env, errno, Op::ProbeAttach, func, "PERF_EVENT_IOC_SET_BPF");
  return Result(env, 0, Op::ProbeKprobePmu, func);
}

// feature_kprobe_tracefs(tracefs): is the legacy kprobe_events interface there?
static Napi::Value KprobeTracefs(const Napi::CallbackInfo& info) {
  std::string tracefs = GetString(info[0], "the tracefs path", Op::ProbeKprobeEvents);
  std::string path = tracefs + "/kprobe_events";
  int err = access(path.c_str(), W_OK) == 0 ? 0 : errno;
  return Result(info.Env(), err, Op::ProbeKprobeEvents, path, "access");
}

// feature_trace(kind, target): fentry / fexit (target: kernel function) or
// tp_btf (target: raw tracepoint name): load and attach a trivial program.
static Napi::Value Trace(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string kind = GetString(info[0], "the kind", Op::ProbeAttach);
  std::string target = GetString(info[1], "the target", Op::ProbeAttach);
  bpf_attach_type eat = kind == "fentry" ? BPF_TRACE_FENTRY : kind == "fexit" ? BPF_TRACE_FEXIT : BPF_TRACE_RAW_TP;
  std::string btfName = kind == "tp_btf" ? "btf_trace_" + target : target;
  uint32_t btfKind = kind == "tp_btf" ? BTF_KIND_TYPEDEF : BTF_KIND_FUNC;
  int id = FastFindKernelBtfId(btfName, btfKind);
  if (id < 0) {  // the walk could not read it: libbpf's parse decides
    int err = 0;
    btf* vm = VmlinuxBtf(&err);
    if (!vm) return Result(env, err, Op::ProbeKernelBtf, "needs /sys/kernel/btf/vmlinux");
    id = btf__find_by_name_kind(vm, btfName.c_str(), btfKind);
  }
  if (id <= 0) return Result(env, ENOENT, Op::ProbeFindBtfId, target);
  Fd prog(LoadTrivial(BPF_PROG_TYPE_TRACING, eat, id));
  if (prog.get() < 0) return Result(env, prog.get(), Op::ProbeProgLoad, kind + " " + target, "BPF_PROG_LOAD");
  Fd link(bpf_raw_tracepoint_open(nullptr, prog.get()));
  if (link.get() < 0) return Result(env, errno, Op::ProbeAttach, kind + " " + target, "BPF_RAW_TRACEPOINT_OPEN");
  return Result(env, 0, Op::ProbeAttach, kind + " " + target);
}

// feature_tracepoint(tracefs, category, name)
static Napi::Value Tracepoint(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string tracefs = GetString(info[0], "the tracefs path", Op::ProbeTracepointId);
  std::string cat = GetString(info[1], "the category", Op::ProbeTracepointId);
  std::string name = GetString(info[2], "the name", Op::ProbeTracepointId);
  int id = 0;
  std::string idpath = tracefs + "/events/" + cat + "/" + name + "/id";
  int err = ReadInt(idpath, &id);
  if (err) return Result(env, err, Op::ProbeTracepointId, idpath, "open");
  Fd prog(LoadTrivial(BPF_PROG_TYPE_TRACEPOINT, static_cast<bpf_attach_type>(0), 0));
  if (prog.get() < 0) return Result(env, prog.get(), Op::ProbeProgLoad, "tracepoint", "BPF_PROG_LOAD");
  perf_event_attr attr{};
  attr.size = sizeof(attr);
  attr.type = PERF_TYPE_TRACEPOINT;
  attr.config = id;
  attr.sample_period = 1;
  Fd pfd(PerfOpen(&attr));
  if (pfd.get() < 0) return Result(env, pfd.get(), Op::ProbeAttach, "tracepoint " + cat + "/" + name, "perf_event_open");
  if (ioctl(pfd.get(), PERF_EVENT_IOC_SET_BPF, prog.get()) < 0)
    return Result(env, errno, Op::ProbeAttach, "tracepoint " + cat + "/" + name, "PERF_EVENT_IOC_SET_BPF");
  return Result(env, 0, Op::ProbeAttach, "tracepoint " + cat + "/" + name);
}

// feature_raw_tracepoint(name)
static Napi::Value RawTracepoint(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name = GetString(info[0], "the name", Op::ProbeAttach);
  Fd prog(LoadTrivial(BPF_PROG_TYPE_RAW_TRACEPOINT, static_cast<bpf_attach_type>(0), 0));
  if (prog.get() < 0) return Result(env, prog.get(), Op::ProbeProgLoad, "raw_tracepoint", "BPF_PROG_LOAD");
  Fd link(bpf_raw_tracepoint_open(name.c_str(), prog.get()));
  if (link.get() < 0) return Result(env, errno, Op::ProbeAttach, "raw_tracepoint " + name, "BPF_RAW_TRACEPOINT_OPEN");
  return Result(env, 0, Op::ProbeAttach, "raw_tracepoint " + name);
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
      ThrowErrno(env, errno, Op::LinkIds);
    }
    out.Set(i++, id);
  }
  return out;
}

// operations() -> the ids of every operation the addon reports (for the TS
// side's table of what each means; a test checks that both agree).
static Napi::Value Operations(const Napi::CallbackInfo& info) {
  Napi::Array out = Napi::Array::New(info.Env());
  uint32_t i = 0;
#define TB_OP_PUSH(name, id) out.Set(i++, id);
  TB_OPS(TB_OP_PUSH)
#undef TB_OP_PUSH
  return out;
}

void InitFeatures(Napi::Env env, Napi::Object exports) {
  exports.Set("operations", Napi::Function::New(env, Operations));
  exports.Set("link_ids", Napi::Function::New(env, LinkIds));
  exports.Set("feature_kernel_btf", Napi::Function::New(env, KernelBtf));
  exports.Set("feature_ringbuf", Napi::Function::New(env, Ringbuf));
  exports.Set("feature_batch_ops", Napi::Function::New(env, BatchOps));
  exports.Set("feature_kprobe", Napi::Function::New(env, Kprobe));
  exports.Set("feature_kprobe_tracefs", Napi::Function::New(env, KprobeTracefs));
  exports.Set("feature_trace", Napi::Function::New(env, Trace));
  exports.Set("feature_tracepoint", Napi::Function::New(env, Tracepoint));
  exports.Set("feature_raw_tracepoint", Napi::Function::New(env, RawTracepoint));
  exports.Set("memlock_limit", Napi::Function::New(env, MemlockLimit));
}

}  // namespace tb
