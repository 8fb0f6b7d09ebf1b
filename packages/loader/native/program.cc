// bpf_program: pre-load choices, attach (each kind), test run.
#include <fcntl.h>
#include <linux/perf_event.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>

#include "common.h"

namespace tb {

static Napi::Value SetAutoload(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Handle& h = Open(info[0], Kind::Program, false, Op::SetAutoload);
  if (h.obj->loaded) ThrowCode(env, "ERR_BPF_LOADED", Op::SetAutoload, "autoload can only change before load()", CtxOf(h));
  int err = bpf_program__set_autoload(h.prog, GetBool(info[1], "autoload", Op::SetAutoload));
  if (err) ThrowErrno(env, LibbpfErr(err), Op::SetAutoload, CtxOf(h));
  return env.Undefined();
}

// program_set_attach_target(prog, name): fentry/fexit/tp_btf target, before load.
static Napi::Value SetAttachTarget(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Handle& h = Open(info[0], Kind::Program, false, Op::SetAttachTarget);
  if (h.obj->loaded)
    ThrowCode(env, "ERR_BPF_LOADED", Op::SetAttachTarget, "the attach target can only change before load()", CtxOf(h));
  std::string target = GetString(info[1], "the target", Op::SetAttachTarget);
  LogCapture cap;
  int err = bpf_program__set_attach_target(h.prog, 0, target.c_str());
  ErrCtx c = CtxOf(h);
  c.target = target;
  if (err) ThrowErrno(env, LibbpfErr(err), Op::SetAttachTarget, c, cap.Take());
  return env.Undefined();
}

static Napi::Value Fd(const Napi::CallbackInfo& info) {
  Handle& h = Open(info[0], Kind::Program, true, Op::ProgramFd);
  return Napi::Number::New(info.Env(), bpf_program__fd(h.prog));
}

static Napi::Value NewLink(Napi::Env env, Handle& h, bpf_link* link, const std::string& kind,
                           const std::string& target, const std::string& legacy = "",
                           const std::string& tracefs = "") {
  auto ls = std::make_shared<LinkState>();
  ls->link = link;
  ls->kind = kind;
  ls->target = target;
  ls->legacy_event = legacy;
  ls->tracefs = tracefs;
  h.obj->links.push_back(ls);
  Handle lh{Kind::Link, h.obj, h.prog, nullptr, ls};
  return Wrap(env, std::move(lh));
}

static Napi::Value Finish(Napi::Env env, Handle& h, bpf_link* link, Op op, const std::string& kind,
                          const std::string& target, LogCapture& cap) {
  if (!link) {
    int err = LibbpfErr(libbpf_get_error(link));
    ErrCtx c = CtxOf(h);
    c.target = target;
    c.syscall = cap.Failed(err).name;
    ThrowErrno(env, err, op, c, cap.Take());
  }
  return NewLink(env, h, link, kind, target);
}

// program_attach(prog): as the section says (libbpf's own section rules).
static Napi::Value Attach(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Handle& h = Open(info[0], Kind::Program, true, Op::Attach);
  LogCapture cap;
  errno = 0;
  bpf_link* l = bpf_program__attach(h.prog);
  return Finish(env, h, l, Op::Attach, "auto", bpf_program__section_name(h.prog), cap);
}

// program_attach_kprobe(prog, func, retprobe, offset): libbpf's kprobe attach
// (perf kprobe PMU, or tracefs when the kernel has no PMU).
static Napi::Value AttachKprobe(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Handle& h = Open(info[0], Kind::Program, true, Op::AttachKprobe);
  std::string func = GetString(info[1], "the function", Op::AttachKprobe);
  bool ret = GetBool(info[2], "retprobe", Op::AttachKprobe);
  LIBBPF_OPTS(bpf_kprobe_opts, opts);
  opts.retprobe = ret;
  opts.offset = GetU32(info[3], "the offset", Op::AttachKprobe);
  LogCapture cap;
  errno = 0;
  bpf_link* l = bpf_program__attach_kprobe_opts(h.prog, func.c_str(), &opts);
  return Finish(env, h, l, ret ? Op::AttachKretprobe : Op::AttachKprobe, ret ? "kretprobe" : "kprobe", func, cap);
}

static int WriteFile(const std::string& path, const std::string& s) {
  int fd = open(path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
  if (fd < 0) return -errno;
  ssize_t n = write(fd, s.data(), s.size());
  int err = n < 0 ? -errno : 0;
  close(fd);
  return err;
}

static int ReadId(const std::string& path) {
  std::ifstream f(path);
  int id = -1;
  if (!(f >> id)) return -ENOENT;
  return id;
}

// program_attach_kprobe_tracefs(prog, func, retprobe, offset, tracefs, eventName, maxActive):
// the legacy route forced by the caller: a kprobe event written into
// tracefs kprobe_events (`r<maxActive>:` for a kretprobe when maxActive > 0),
// opened as a tracepoint perf event. Its hits and misses are visible in
// kprobe_profile on every kernel.
static Napi::Value AttachKprobeTracefs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Op op = Op::AttachKprobeTracefs;
  Handle& h = Open(info[0], Kind::Program, true, op);
  std::string func = GetString(info[1], "the function", op);
  bool ret = GetBool(info[2], "retprobe", op);
  uint32_t offset = GetU32(info[3], "the offset", op);
  std::string tracefs = GetString(info[4], "the tracefs path", op);
  std::string event = GetString(info[5], "the event name", op);
  uint32_t maxactive = GetU32(info[6], "maxActive", op);
  if (ret) op = Op::AttachKretprobeTracefs;
  const char* kind = ret ? "kretprobe" : "kprobe";
  ErrCtx c = CtxOf(h);
  c.target = func;
  std::string def = std::string(ret ? "r" : "p") + (ret && maxactive ? std::to_string(maxactive) : "") +
                    ":kprobes/" + event + " " + func;
  if (offset) def += "+" + std::to_string(offset);
  def += "\n";
  int err = WriteFile(tracefs + "/kprobe_events", def);
  c.syscall = "write kprobe_events";
  if (err) ThrowErrno(env, err, op, c);
  c.syscall = "";
  std::string full = "kprobes/" + event;
  int id = ReadId(tracefs + "/events/kprobes/" + event + "/id");
  if (id < 0) {
    WriteFile(tracefs + "/kprobe_events", "-:" + full + "\n");
    c.syscall = "read event id";
    ThrowErrno(env, -id, op, c);
  }
  perf_event_attr attr{};
  attr.size = sizeof(attr);
  attr.type = PERF_TYPE_TRACEPOINT;
  attr.config = id;
  attr.sample_period = 1;
  attr.wakeup_events = 1;
  int pfd = syscall(__NR_perf_event_open, &attr, -1, 0, -1, PERF_FLAG_FD_CLOEXEC);
  if (pfd < 0) {
    err = errno;
    WriteFile(tracefs + "/kprobe_events", "-:" + full + "\n");
    c.syscall = "perf_event_open";
    ThrowErrno(env, err, op, c);
  }
  LogCapture cap;
  errno = 0;
  bpf_link* l = bpf_program__attach_perf_event(h.prog, pfd);
  if (!l) {
    err = LibbpfErr(libbpf_get_error(l));
    c.syscall = cap.Failed(err).name;
    close(pfd);
    WriteFile(tracefs + "/kprobe_events", "-:" + full + "\n");
    ThrowErrno(env, err, op, c, cap.Take());
  }
  return NewLink(env, h, l, kind, func, full, tracefs);
}

// program_attach_tracepoint(prog, category, name)
static Napi::Value AttachTracepoint(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Handle& h = Open(info[0], Kind::Program, true, Op::AttachTracepoint);
  std::string cat = GetString(info[1], "the category", Op::AttachTracepoint);
  std::string name = GetString(info[2], "the name", Op::AttachTracepoint);
  LogCapture cap;
  errno = 0;
  bpf_link* l = bpf_program__attach_tracepoint(h.prog, cat.c_str(), name.c_str());
  return Finish(env, h, l, Op::AttachTracepoint, "tracepoint", cat + "/" + name, cap);
}

// program_attach_raw_tracepoint(prog, name)
static Napi::Value AttachRawTracepoint(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Handle& h = Open(info[0], Kind::Program, true, Op::AttachRawTracepoint);
  std::string name = GetString(info[1], "the name", Op::AttachRawTracepoint);
  LogCapture cap;
  errno = 0;
  bpf_link* l = bpf_program__attach_raw_tracepoint(h.prog, name.c_str());
  return Finish(env, h, l, Op::AttachRawTracepoint, "raw_tracepoint", name, cap);
}

// program_attach_trace(prog, kind, target): fentry, fexit, fmod_ret, tp_btf;
// the target was fixed at load time (section or set_attach_target).
static Napi::Value AttachTrace(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Handle& h = Open(info[0], Kind::Program, true, Op::AttachTrace);
  std::string kind = GetString(info[1], "the kind", Op::AttachTrace);
  std::string target = GetString(info[2], "the target", Op::AttachTrace);
  LogCapture cap;
  errno = 0;
  bpf_link* l = bpf_program__attach_trace(h.prog);
  return Finish(env, h, l, Op::AttachTrace, kind, target, cap);
}

// program_test_run(prog, ctx|null, data|null, repeat, cpu): BPF_PROG_TEST_RUN.
static Napi::Value TestRun(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Handle& h = Open(info[0], Kind::Program, true, Op::TestRun);
  Bytes ctx = GetBytes(info[1], "ctx", Op::TestRun, true);
  Bytes data = GetBytes(info[2], "data", Op::TestRun, true);
  LIBBPF_OPTS(bpf_test_run_opts, opts);
  if (ctx.data) {
    opts.ctx_in = ctx.data;
    opts.ctx_size_in = ctx.len;
  }
  if (data.data) {
    opts.data_in = data.data;
    opts.data_size_in = data.len;
  }
  opts.repeat = GetU32(info[3], "repeat", Op::TestRun);
  int cpu = info[4].IsNumber() && info[4].As<Napi::Number>().Int32Value() < 0 ? -1 : static_cast<int>(GetU32(info[4], "cpu", Op::TestRun));
  if (cpu >= 0) {
    opts.flags = BPF_F_TEST_RUN_ON_CPU;
    opts.cpu = cpu;
  }
  int err = bpf_prog_test_run_opts(bpf_program__fd(h.prog), &opts);
  if (err) ThrowErrno(env, LibbpfErr(err), Op::TestRun, CtxOf(h));
  Napi::Object o = Napi::Object::New(env);
  o.Set("retval", opts.retval);
  o.Set("duration", opts.duration);
  return o;
}

// link_close(link)
static Napi::Value LinkClose(const Napi::CallbackInfo& info) {
  Handle& h = Unwrap(info[0], Kind::Link);
  h.link->Close();
  return info.Env().Undefined();
}

// struct bpf_link_info as the kernel fills it, sized for the newest layout we
// read (perf_event.kprobe.missed appeared in 6.7); older kernels zero the rest.
struct LinkInfoRaw {
  uint32_t type;
  uint32_t id;
  uint32_t prog_id;
  uint32_t pad;
  union {
    struct {
      uint32_t type;
      uint32_t pad;
      uint64_t func_name;
      uint32_t name_len;
      uint32_t offset;
      uint64_t addr;
      uint64_t missed;
      uint64_t cookie;
    } perf_kprobe;
    uint8_t raw[256];
  };
};

// link_info(link) -> { fd, type?, id?, progId?, kprobeMissed?, legacyEvent? }
static Napi::Value LinkInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Handle& h = Unwrap(info[0], Kind::Link);
  if (h.link->closed) ThrowCode(env, "ERR_BPF_CLOSED", Op::LinkInfo, "the link is closed", CtxOf(h));
  Napi::Object o = Napi::Object::New(env);
  int fd = bpf_link__fd(h.link->link);
  o.Set("fd", fd);
  o.Set("kind", h.link->kind);
  o.Set("target", h.link->target);
  if (!h.link->legacy_event.empty()) o.Set("legacyEvent", h.link->legacy_event);
  LinkInfoRaw li{};
  uint32_t len = sizeof(li);
  // Before 5.15 kprobe "links" are perf event fds, not BPF links: no info.
  if (bpf_obj_get_info_by_fd(fd, &li, &len) == 0) {
    o.Set("type", li.type);
    o.Set("id", li.id);
    o.Set("progId", li.prog_id);
    // BPF_LINK_TYPE_PERF_EVENT = 7; BPF_PERF_EVENT_KPROBE = 3, KRETPROBE = 4
    if (li.type == 7 && (li.perf_kprobe.type == 3 || li.perf_kprobe.type == 4) &&
        len >= offsetof(LinkInfoRaw, perf_kprobe.missed) + sizeof(uint64_t)) {
      o.Set("kprobeMissed", Napi::BigInt::New(env, li.perf_kprobe.missed));
    }
  }
  return o;
}

void InitProgram(Napi::Env env, Napi::Object exports) {
  exports.Set("program_set_autoload", Napi::Function::New(env, SetAutoload));
  exports.Set("program_set_attach_target", Napi::Function::New(env, SetAttachTarget));
  exports.Set("program_fd", Napi::Function::New(env, Fd));
  exports.Set("program_attach", Napi::Function::New(env, Attach));
  exports.Set("program_attach_kprobe", Napi::Function::New(env, AttachKprobe));
  exports.Set("program_attach_kprobe_tracefs", Napi::Function::New(env, AttachKprobeTracefs));
  exports.Set("program_attach_tracepoint", Napi::Function::New(env, AttachTracepoint));
  exports.Set("program_attach_raw_tracepoint", Napi::Function::New(env, AttachRawTracepoint));
  exports.Set("program_attach_trace", Napi::Function::New(env, AttachTrace));
  exports.Set("program_test_run", Napi::Function::New(env, TestRun));
  exports.Set("link_close", Napi::Function::New(env, LinkClose));
  exports.Set("link_info", Napi::Function::New(env, LinkInfo));
}

}  // namespace tb
