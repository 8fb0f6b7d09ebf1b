// Ring buffer and perf buffer readers driven by the libuv loop: a uv_poll on
// libbpf's epoll fd (no thread, no timer). When it fires, every available
// record is copied into one staging buffer with length framing and JS is
// entered once for the whole batch.
//
// Batch framing, 8-byte aligned:  u32 length | u32 cpu (perf) or 0 (ring) |
// data | zero padding to 8.
//
// Lifetime: a referenced reader (the default) holds its JS callback strongly,
// like any active libuv handle, so it (and through it, its object) stays alive
// until close(). unref() makes the reference weak: once nothing else reaches
// the reader it is garbage-collected, and the handle's finalizer closes it,
// which releases the object's last reference and so its links and maps.
#include <uv.h>

#include <cstring>

#include "common.h"

namespace tb {

struct Reader {
  Napi::Env env;
  Kind kind;
  ring_buffer* rb = nullptr;
  perf_buffer* pb = nullptr;
  uv_poll_t* poll = nullptr;
  napi_ref cb = nullptr;  // strong (refcount 1) while referenced, weak (0) after unref()
  bool cb_strong = true;
  std::shared_ptr<ObjectState> obj;
  std::vector<uint8_t> staging;
  uint32_t count = 0;
  std::vector<std::pair<int, uint64_t>> lost;  // (cpu, count) since last dispatch
  uint64_t lost_total = 0;
  size_t max_batch_bytes = 4 << 20;
  bool closed = false;
  bool hook_added = false;
  explicit Reader(Napi::Env e, Kind k) : env(e), kind(k) {}
};

static void Append(Reader* r, int cpu, const void* data, size_t size) {
  size_t off = r->staging.size();
  size_t padded = (size + 7) & ~size_t(7);
  r->staging.resize(off + 8 + padded);
  uint8_t* p = r->staging.data() + off;
  uint32_t len32 = static_cast<uint32_t>(size), cpu32 = static_cast<uint32_t>(cpu);
  memcpy(p, &len32, 4);
  memcpy(p + 4, &cpu32, 4);
  memcpy(p + 8, data, size);
  if (padded > size) memset(p + 8 + size, 0, padded - size);
  r->count++;
}

static int OnRing(void* ctx, void* data, size_t size) {
  auto* r = static_cast<Reader*>(ctx);
  Append(r, 0, data, size);
  // Stop (this record is kept) once the batch is big; the epoll fd stays
  // readable, so the rest comes on the next loop turn.
  return r->staging.size() >= r->max_batch_bytes ? -E2BIG : 0;
}

static void OnPerf(void* ctx, int cpu, void* data, __u32 size) {
  Append(static_cast<Reader*>(ctx), cpu, data, size);
}

static void OnPerfLost(void* ctx, int cpu, __u64 cnt) {
  auto* r = static_cast<Reader*>(ctx);
  r->lost.emplace_back(cpu, cnt);
  r->lost_total += cnt;
}

static void CleanupHook(void* arg);

static void CloseReader(Reader* r) {
  if (r->closed) return;
  r->closed = true;
  if (r->hook_added) {
    napi_remove_env_cleanup_hook(r->env, CleanupHook, r);
    r->hook_added = false;
  }
  if (r->poll) {
    uv_poll_stop(r->poll);
    uv_close(reinterpret_cast<uv_handle_t*>(r->poll), [](uv_handle_t* h) {
      delete static_cast<std::shared_ptr<Reader>*>(h->data);
      delete reinterpret_cast<uv_poll_t*>(h);
    });
    r->poll = nullptr;
  }
  if (r->rb) ring_buffer__free(r->rb);
  if (r->pb) perf_buffer__free(r->pb);
  r->rb = nullptr;
  r->pb = nullptr;
  r->staging.clear();
  r->staging.shrink_to_fit();
  if (r->cb) {
    napi_delete_reference(r->env, r->cb);
    r->cb = nullptr;
  }
  r->obj.reset();
}

static void CleanupHook(void* arg) {
  auto* r = static_cast<Reader*>(arg);
  r->hook_added = false;  // being run: nothing to remove
  CloseReader(r);
}

// Drain the kernel buffers into staging. Returns records drained or -errno.
static int Drain(Reader* r) {
  int err = 0;
  if (r->rb) {
    err = ring_buffer__consume(r->rb);
    if (err == -E2BIG) err = 0;
  } else if (r->pb) {
    err = perf_buffer__consume(r->pb);
  }
  return err < 0 ? err : static_cast<int>(r->count);
}

// The batch as JS arguments (batch: Buffer, count: number, lost: number[] |
// undefined), built with raw Node-API so that every failure is a status, never
// a C++ exception: on a worker thread being terminated, the loop can still
// poll while the engine refuses to run anything. Clears the staging area.
static bool BuildArgs(Reader* r, napi_env env, napi_value argv[3]) {
  bool ok = napi_create_buffer_copy(env, r->staging.size(), r->staging.data(), nullptr, &argv[0]) == napi_ok &&
            napi_create_uint32(env, r->count, &argv[1]) == napi_ok;
  if (ok && r->lost.empty()) {
    ok = napi_get_undefined(env, &argv[2]) == napi_ok;
  } else if (ok) {
    ok = napi_create_array_with_length(env, r->lost.size() * 2, &argv[2]) == napi_ok;
    uint32_t i = 0;
    for (auto& p : r->lost) {
      napi_value cpu, n;
      ok = ok && napi_create_int32(env, p.first, &cpu) == napi_ok && napi_set_element(env, argv[2], i++, cpu) == napi_ok &&
           napi_create_double(env, static_cast<double>(p.second), &n) == napi_ok &&
           napi_set_element(env, argv[2], i++, n) == napi_ok;
    }
  }
  r->staging.clear();
  r->count = 0;
  r->lost.clear();
  return ok;
}

// From consume(): JS is running, exceptions propagate to the caller.
static void DispatchSync(Reader* r) {
  if (r->count == 0 && r->lost.empty()) return;
  Napi::Env env = r->env;
  Napi::HandleScope scope(env);
  napi_value argv[3], fn = nullptr, global, result;
  if (!BuildArgs(r, env, argv)) throw Napi::Error::New(env);
  if (!r->cb || napi_get_reference_value(env, r->cb, &fn) != napi_ok || !fn) return;
  if (napi_get_global(env, &global) != napi_ok) throw Napi::Error::New(env);
  // A throwing callback: the exception is pending and propagates to consume()'s caller.
  napi_call_function(env, global, fn, 3, argv, &result);
}

static void OnPoll(uv_poll_t* handle, int status, int events) {
  // Keep the reader alive across the JS call: the callback may close it.
  std::shared_ptr<Reader> keep = *static_cast<std::shared_ptr<Reader>*>(handle->data);
  Reader* r = keep.get();
  if (r->closed) return;
  int n = Drain(r);
  napi_env env = r->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value exc = nullptr;
  if (n < 0) {
    try {
      exc = MakeErrnoError(r->env, -n, Op::ReaderPoll, ErrCtx{});
    } catch (...) {
      exc = nullptr;  // the environment is going away
    }
  } else if (r->count || !r->lost.empty()) {
    napi_value argv[3], fn = nullptr, global, result;
    if (BuildArgs(r, env, argv) && r->cb && napi_get_reference_value(env, r->cb, &fn) == napi_ok && fn &&
        napi_get_global(env, &global) == napi_ok &&
        napi_make_callback(env, nullptr, global, fn, 3, argv, &result) == napi_pending_exception) {
      napi_get_and_clear_last_exception(env, &exc);
    }
  }
  // An exception thrown by the user's callback (or a consume failure) is an
  // uncaught exception of the process, as from any event callback.
  if (exc) napi_fatal_exception(env, exc);
  napi_close_handle_scope(env, scope);
}

static Napi::Value Start(Napi::Env env, std::shared_ptr<Reader> r, int epoll_fd, Handle& mh) {
  uv_loop_t* loop = nullptr;
  napi_get_uv_event_loop(env, &loop);
  r->poll = new uv_poll_t;
  int err = uv_poll_init(loop, r->poll, epoll_fd);
  if (err) {
    delete r->poll;
    r->poll = nullptr;
    CloseReader(r.get());
    ErrCtx c = CtxOf(mh);
    c.syscall = "uv_poll_init";
    ThrowErrno(env, -err, mh.kind == Kind::Map && r->rb ? Op::RingOpen : Op::PerfOpen, c);
  }
  r->poll->data = new std::shared_ptr<Reader>(r);
  uv_poll_start(r->poll, UV_READABLE, OnPoll);
  napi_add_env_cleanup_hook(env, CleanupHook, r.get());
  r->hook_added = true;
  Handle h{r->kind, mh.obj, nullptr, mh.map};
  h.reader = r;
  return Wrap(env, std::move(h));
}

// ring_open(map, callback, maxBatchBytes)
// The callback, held strongly until unref(). Not a function: an argument error
// now, never a failure later in the poll path.
static void SetCallback(Reader* r, const Napi::Value& cb, Op op, const Handle& mh) {
  if (!cb.IsFunction()) ThrowCode(cb.Env(), "ERR_BPF_ARG", op, "the records callback must be a function", CtxOf(mh));
  if (napi_create_reference(cb.Env(), cb, 1, &r->cb) != napi_ok) throw Napi::Error::New(cb.Env());
}

static Napi::Value RingOpen(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const Op op = Op::RingOpen;
  Handle& mh = Open(info[0], Kind::Map, true, op);
  if (bpf_map__type(mh.map) != BPF_MAP_TYPE_RINGBUF)
    ThrowCode(env, "ERR_BPF_ARG", op, "not a ring buffer map", CtxOf(mh));
  auto r = std::make_shared<Reader>(env, Kind::Ring);
  if (!info[2].IsUndefined()) r->max_batch_bytes = GetU32(info[2], "maxBatchBytes", op);
  SetCallback(r.get(), info[1], op, mh);
  r->obj = mh.obj;
  LogCapture cap;
  errno = 0;
  r->rb = ring_buffer__new(bpf_map__fd(mh.map), OnRing, r.get(), nullptr);
  if (!r->rb) {
    int err = LibbpfErr(libbpf_get_error(r->rb));
    CloseReader(r.get());
    ThrowErrno(env, err, op, CtxOf(mh), cap.Take());
  }
  return Start(env, r, ring_buffer__epoll_fd(r->rb), mh);
}

// perf_open(map, callback, pageCount)
static Napi::Value PerfOpen(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const Op op = Op::PerfOpen;
  Handle& mh = Open(info[0], Kind::Map, true, op);
  if (bpf_map__type(mh.map) != BPF_MAP_TYPE_PERF_EVENT_ARRAY)
    ThrowCode(env, "ERR_BPF_ARG", op, "not a perf event array map", CtxOf(mh));
  auto r = std::make_shared<Reader>(env, Kind::Perf);
  size_t pages = GetU32(info[2], "pageCount", op);
  SetCallback(r.get(), info[1], op, mh);
  r->obj = mh.obj;
  LogCapture cap;
  errno = 0;
  r->pb = perf_buffer__new(bpf_map__fd(mh.map), pages, OnPerf, OnPerfLost, r.get(), nullptr);
  if (!r->pb) {
    int err = LibbpfErr(libbpf_get_error(r->pb));
    CloseReader(r.get());
    ThrowErrno(env, err, op, CtxOf(mh), cap.Take());
  }
  return Start(env, r, perf_buffer__epoll_fd(r->pb), mh);
}

static Handle& ReaderHandle(const Napi::Value& v) {
  Handle* h = TryUnwrap(v);
  if (!h || (h->kind != Kind::Ring && h->kind != Kind::Perf))
    ThrowCode(v.Env(), "ERR_BPF_HANDLE", Op::Handle, "expected a native ring or perf buffer reader handle");
  return *h;
}

static Reader* GetReader(const Napi::CallbackInfo& info) {
  return static_cast<Reader*>(ReaderHandle(info[0]).reader.get());
}

// reader_consume(reader) -> records delivered (synchronously, through the callback)
static Napi::Value Consume(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Reader* r = GetReader(info);
  if (r->closed) ThrowCode(env, "ERR_BPF_CLOSED", Op::ReaderConsume, "the reader is closed");
  std::shared_ptr<void> keep = ReaderHandle(info[0]).reader;
  int n = Drain(r);
  if (n < 0) ThrowErrno(env, -n, Op::ReaderConsume);
  DispatchSync(r);
  return Napi::Number::New(env, n);
}

static Napi::Value Close(const Napi::CallbackInfo& info) {
  CloseReader(GetReader(info));
  return info.Env().Undefined();
}

// reader_ref(reader, ref): ref keeps the loop and the callback (so the reader
// and its object) alive; unref lets both go.
static Napi::Value Ref(const Napi::CallbackInfo& info) {
  Reader* r = GetReader(info);
  bool ref = GetBool(info[1], "ref", Op::Handle);
  if (r->poll) {
    if (ref)
      uv_ref(reinterpret_cast<uv_handle_t*>(r->poll));
    else
      uv_unref(reinterpret_cast<uv_handle_t*>(r->poll));
  }
  if (r->cb && ref != r->cb_strong) {
    uint32_t n;
    if (ref)
      napi_reference_ref(r->env, r->cb, &n);
    else
      napi_reference_unref(r->env, r->cb, &n);
    r->cb_strong = ref;
  }
  return info.Env().Undefined();
}

void FinalizeReader(Handle& h) {
  if (h.reader) CloseReader(static_cast<Reader*>(h.reader.get()));
}

static Napi::Value Stats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Reader* r = GetReader(info);
  Napi::Object o = Napi::Object::New(env);
  o.Set("closed", r->closed);
  o.Set("lost", static_cast<double>(r->lost_total));
  if (r->pb) o.Set("buffers", static_cast<double>(perf_buffer__buffer_cnt(r->pb)));
  return o;
}

void InitReaders(Napi::Env env, Napi::Object exports) {
  exports.Set("ring_open", Napi::Function::New(env, RingOpen));
  exports.Set("perf_open", Napi::Function::New(env, PerfOpen));
  exports.Set("reader_consume", Napi::Function::New(env, Consume));
  exports.Set("reader_close", Napi::Function::New(env, Close));
  exports.Set("reader_ref", Napi::Function::New(env, Ref));
  exports.Set("reader_stats", Napi::Function::New(env, Stats));
}

}  // namespace tb
