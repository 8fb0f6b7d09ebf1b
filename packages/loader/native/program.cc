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
  Handle& h = Open(info[0], Kind::Program, false);
  if (h.obj->loaded) ThrowCode(env, "ERR_BPF_LOADED", "autoload can only change before load()", CtxOf(h));
  int err = bpf_program__set_autoload(h.prog, info[1].As<Napi::Boolean>());
  if (err) ThrowErrno(env, err, "set autoload", CtxOf(h));
  return env.Undefined();
}

// program_set_attach_target(prog, name): fentry/fexit/tp_btf target, before load.
static Napi::Value SetAttachTarget(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Handle& h = Open(info[0], Kind::Program, false);
  if (h.obj->loaded)
    ThrowCode(env, "ERR_BPF_LOADED", "the attach target can only change before load()", CtxOf(h));
  std::string target = info[1].As<Napi::String>();
  LogCapture cap;
  int err = bpf_program__set_attach_target(h.prog, 0, target.c_str());
  ErrCtx c = CtxOf(h);
  c.target = target;
  if (err) ThrowErrno(env, err, "set attach target", c, cap.Take());
  return env.Undefined();
}

static Napi::Value Fd(const Napi::CallbackInfo& info) {
  Handle& h = Open(info[0], Kind::Program, true);
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

static Napi::Value Finish(Napi::Env env, Handle& h, bpf_link* link, const std::string& op,
                          const std::string& kind, const std::string& target, LogCapture& cap) {
  if (!link) {
    int err = errno ? errno : EINVAL;
    ErrCtx c = CtxOf(h);
    c.target = target;
    ThrowErrno(env, err, op, c, cap.Take());
  }
  return NewLink(env, h, link, kind, target);
}

// program_attach(prog): as the section says (libbpf's own section rules).
static Napi::Value Attach(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Handle& h = Open(info[0], Kind::Program, true);
  LogCapture cap;
  errno = 0;
  bpf_link* l = bpf_program__attach(h.prog);
  return Finish(env, h, l, std::string("attach ") + bpf_program__section_name(h.prog), "auto",
                bpf_program__section_name(h.prog), cap);
}

// program_attach_kprobe(prog, func, retprobe, offset): libbpf's kprobe attach
// (perf kprobe PMU, or tracefs when the kernel has no PMU).
static Napi::Value AttachKprobe(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Handle& h = Open(info[0], Kind::Program, true);
  std::string func = info[1].As<Napi::String>();
  bool ret = info[2].As<Napi::Boolean>();
  LIBBPF_OPTS(bpf_kprobe_opts, opts);
  opts.retprobe = ret;
  opts.offset = info[3].As<Napi::Number>().Uint32Value();
  LogCapture cap;
  errno = 0;
  bpf_link* l = bpf_program__attach_kprobe_opts(h.prog, func.c_str(), &opts);
  const char* kind = ret ? "kretprobe" : "kprobe";
  return Finish(env, h, l, std::string("attach ") + kind, kind, func, cap);
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

// program_attach_kprobe_tracefs(prog, func, retprobe, offset, tracefs, eventName):
// the legacy route forced by the caller: a kprobe event written into
// tracefs kprobe_events, opened as a tracepoint perf event. Its hits and
// misses are visible in kprobe_profile on every kernel.
static Napi::Value AttachKprobeTracefs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Handle& h = Open(info[0], Kind::Program, true);
  std::string func = info[1].As<Napi::String>();
  bool ret = info[2].As<Napi::Boolean>();
  uint32_t offset = info[3].As<Napi::Number>().Uint32Value();
  std::string tracefs = info[4].As<Napi::String>();
  std::string event = info[5].As<Napi::String>();
  const char* kind = ret ? "kretprobe" : "kprobe";
  ErrCtx c = CtxOf(h);
  c.target = func;
  std::string op = std::string("attach ") + kind + " (tracefs)";
  std::string def = std::string(ret ? "r" : "p") + ":kprobes/" + event + " " + func;
  if (offset) def += "+" + std::to_string(offset);
  def += "\n";
  int err = WriteFile(tracefs + "/kprobe_events", def);
  if (err) ThrowErrno(env, err, op, c);
  std::string full = "kprobes/" + event;
  int id = ReadId(tracefs + "/events/kprobes/" + event + "/id");
  if (id < 0) {
    WriteFile(tracefs + "/kprobe_events", "-:" + full + "\n");
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
    ThrowErrno(env, err, op, c);
  }
  LogCapture cap;
  errno = 0;
  bpf_link* l = bpf_program__attach_perf_event(h.prog, pfd);
  if (!l) {
    err = errno ? errno : EINVAL;
    close(pfd);
    WriteFile(tracefs + "/kprobe_events", "-:" + full + "\n");
    ThrowErrno(env, err, op, c, cap.Take());
  }
  return NewLink(env, h, l, kind, func, full, tracefs);
}

// program_attach_tracepoint(prog, category, name)
static Napi::Value AttachTracepoint(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Handle& h = Open(info[0], Kind::Program, true);
  std::string cat = info[1].As<Napi::String>();
  std::string name = info[2].As<Napi::String>();
  LogCapture cap;
  errno = 0;
  bpf_link* l = bpf_program__attach_tracepoint(h.prog, cat.c_str(), name.c_str());
  return Finish(env, h, l, "attach tracepoint", "tracepoint", cat + "/" + name, cap);
}

// program_attach_raw_tracepoint(prog, name)
static Napi::Value AttachRawTracepoint(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Handle& h = Open(info[0], Kind::Program, true);
  std::string name = info[1].As<Napi::String>();
  LogCapture cap;
  errno = 0;
  bpf_link* l = bpf_program__attach_raw_tracepoint(h.prog, name.c_str());
  return Finish(env, h, l, "attach raw tracepoint", "raw_tracepoint", name, cap);
}

// program_attach_trace(prog, kind, target): fentry, fexit, fmod_ret, tp_btf;
// the target was fixed at load time (section or set_attach_target).
static Napi::Value AttachTrace(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Handle& h = Open(info[0], Kind::Program, true);
  std::string kind = info[1].As<Napi::String>();
  std::string target = info[2].As<Napi::String>();
  LogCapture cap;
  errno = 0;
  bpf_link* l = bpf_program__attach_trace(h.prog);
  return Finish(env, h, l, "attach " + kind, kind, target, cap);
}

// program_test_run(prog, ctx|null, data|null, repeat, cpu): BPF_PROG_TEST_RUN.
static Napi::Value TestRun(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Handle& h = Open(info[0], Kind::Program, true);
  Bytes ctx = GetBytes(info[1], "ctx", true);
  Bytes data = GetBytes(info[2], "data", true);
  LIBBPF_OPTS(bpf_test_run_opts, opts);
  if (ctx.data) {
    opts.ctx_in = ctx.data;
    opts.ctx_size_in = ctx.len;
  }
  if (data.data) {
    opts.data_in = data.data;
    opts.data_size_in = data.len;
  }
  opts.repeat = info[3].As<Napi::Number>().Int32Value();
  int cpu = info[4].As<Napi::Number>().Int32Value();
  if (cpu >= 0) {
    opts.flags = BPF_F_TEST_RUN_ON_CPU;
    opts.cpu = cpu;
  }
  int err = bpf_prog_test_run_opts(bpf_program__fd(h.prog), &opts);
  if (err) ThrowErrno(env, errno ? errno : -err, "BPF_PROG_TEST_RUN", CtxOf(h));
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
  if (h.link->closed) ThrowCode(env, "ERR_BPF_CLOSED", "the link is closed", CtxOf(h));
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
      o.Set("infoLength", len);
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
