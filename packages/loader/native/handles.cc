#include <fcntl.h>
#include <unistd.h>

#include <thread>
#include <vector>

#include "common.h"

namespace tb {

// One type tag for every handle External; the Kind inside tells them apart.
static const napi_type_tag kHandleTag = {0x7472616365725f62ULL, 0x70665f68616e646cULL};

void LinkState::Close() {
  if (closed) return;
  closed = true;
  if (link) {
    bpf_link__destroy(link);
    link = nullptr;
  }
  if (!legacy_event.empty()) {
    std::string path = tracefs + "/kprobe_events";
    int fd = open(path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
    if (fd >= 0) {
      std::string cmd = "-:" + legacy_event + "\n";
      ssize_t r = write(fd, cmd.data(), cmd.size());
      (void)r;  // nothing to do if the event is already gone
      close(fd);
    }
    legacy_event.clear();
  }
}

// Detaches every open link, each on a thread of its own, and returns when all
// are detached. A detach can wait for an RCU grace period (unregistering a
// kprobe does, outside any lock); waits that run at once share grace periods,
// so N links cost about one wait instead of N (three kprobes under QEMU TCG:
// ~270 ms one after the other). One link, or no thread to be had: in turn.
static void CloseLinks(const std::vector<std::shared_ptr<LinkState>>& links) {
  std::vector<LinkState*> open;
  for (auto& l : links)
    if (!l->closed) open.push_back(l.get());
  std::vector<std::thread> threads;
  if (open.size() > 1) {
    threads.reserve(open.size());
    for (LinkState* l : open) {
      try {
        threads.emplace_back([l] { l->Close(); });
      } catch (...) {
        l->Close();  // no thread: this one now, here
      }
    }
  }
  for (auto& t : threads) t.join();
  for (LinkState* l : open) l->Close();  // no-ops for the ones closed above
}

void ObjectState::Close() {
  if (closed) return;
  closed = true;
  CloseLinks(links);
  links.clear();
  if (obj) {
    bpf_object__close(obj);
    obj = nullptr;
  }
}

Napi::External<Handle> Wrap(Napi::Env env, Handle h) {
  if (h.prog && h.prog_name.empty()) h.prog_name = bpf_program__name(h.prog);
  if (h.map && h.map_name.empty()) h.map_name = bpf_map__name(h.map);
  auto ext = Napi::External<Handle>::New(env, new Handle(std::move(h)), [](Napi::Env, Handle* p) {
    // Garbage collected without close(): an object handle releases its fds
    // when the last handle pointing at it goes (shared_ptr); links are owned
    // by their object, so nothing is freed twice. A reader handle is only
    // collectable once unref()'d (see readers.cc): then it closes the reader.
    if (p->kind == Kind::Ring || p->kind == Kind::Perf) FinalizeReader(*p);
    delete p;
  });
  ext.TypeTag(&kHandleTag);
  return ext;
}

static const char* KindName(Kind k) {
  switch (k) {
    case Kind::Object: return "object";
    case Kind::Program: return "program";
    case Kind::Map: return "map";
    case Kind::Link: return "link";
    case Kind::Ring: return "ring buffer reader";
    case Kind::Perf: return "perf buffer reader";
  }
  return "handle";
}

Handle* TryUnwrap(const Napi::Value& v) {
  ResetFailedSyscall();  // a new operation starts
  if (!v.IsExternal() || !v.As<Napi::External<Handle>>().CheckTypeTag(&kHandleTag)) return nullptr;
  return v.As<Napi::External<Handle>>().Data();
}

Handle& Unwrap(const Napi::Value& v, Kind kind) {
  Napi::Env env = v.Env();
  Handle* h = TryUnwrap(v);
  if (!h) ThrowCode(env, "ERR_BPF_HANDLE", Op::Handle, std::string("expected a native ") + KindName(kind) + " handle");
  if (h->kind != kind) {
    ThrowCode(env, "ERR_BPF_HANDLE", Op::Handle,
              std::string("expected a native ") + KindName(kind) + " handle, got a " + KindName(h->kind));
  }
  return *h;
}

ErrCtx CtxOf(const Handle& h) {
  ErrCtx c;
  if (h.obj) c.object = h.obj->name;
  c.program = h.prog_name;
  c.map = h.map_name;
  return c;
}

Handle& Open(const Napi::Value& v, Kind kind, bool need_loaded, Op op) {
  Handle& h = Unwrap(v, kind);
  Napi::Env env = v.Env();
  if (!h.obj || h.obj->closed) ThrowCode(env, "ERR_BPF_CLOSED", op, "the object is closed", CtxOf(h));
  if (h.obj->busy) ThrowCode(env, "ERR_BPF_BUSY", op, "the object is being loaded", CtxOf(h));
  if (need_loaded && !h.obj->loaded)
    ThrowCode(env, "ERR_BPF_NOT_LOADED", op, "the object is not loaded yet: call load() first", CtxOf(h));
  return h;
}

Bytes GetBytes(const Napi::Value& v, const char* what, Op op, bool optional) {
  Bytes b;
  if (optional && (v.IsNull() || v.IsUndefined())) return b;
  if (v.IsBuffer()) {
    auto buf = v.As<Napi::Buffer<uint8_t>>();
    b.data = buf.Data();
    b.len = buf.Length();
    return b;
  }
  if (v.IsTypedArray()) {
    auto ta = v.As<Napi::TypedArray>();
    auto ab = ta.ArrayBuffer();
    b.data = static_cast<uint8_t*>(ab.Data()) + ta.ByteOffset();
    b.len = ta.ByteLength();
    return b;
  }
  ThrowCode(v.Env(), "ERR_BPF_ARG", op, std::string(what) + " must be a Buffer or TypedArray");
}

uint32_t GetU32(const Napi::Value& v, const char* what, Op op) {
  if (v.IsNumber()) {
    double d = v.As<Napi::Number>().DoubleValue();
    if (d >= 0 && d <= 4294967295.0 && d == static_cast<double>(static_cast<uint32_t>(d))) return static_cast<uint32_t>(d);
  }
  ThrowCode(v.Env(), "ERR_BPF_ARG", op, std::string(what) + " must be an integer in 0..4294967295");
}

bool GetBool(const Napi::Value& v, const char* what, Op op) {
  if (!v.IsBoolean()) ThrowCode(v.Env(), "ERR_BPF_ARG", op, std::string(what) + " must be a boolean");
  return v.As<Napi::Boolean>();
}

std::string GetString(const Napi::Value& v, const char* what, Op op) {
  if (!v.IsString()) ThrowCode(v.Env(), "ERR_BPF_ARG", op, std::string(what) + " must be a string");
  std::string s = v.As<Napi::String>();
  if (s.find('\0') != std::string::npos) ThrowCode(v.Env(), "ERR_BPF_ARG", op, std::string(what) + " must not contain a NUL byte");
  return s;
}

}  // namespace tb
