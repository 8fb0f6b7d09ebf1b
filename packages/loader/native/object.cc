// bpf_object: open (path or memory), pre-load settings, load on the thread pool, close.
#include <cstring>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "common.h"

namespace tb {

static Napi::Value OpenCommon(Napi::Env env, bpf_object* obj, int err, const std::string& name,
                              const std::string& log) {
  if (!obj) ThrowErrno(env, err, Op::OpenObject, ErrCtx{name}, log);
  auto st = std::make_shared<ObjectState>();
  st->obj = obj;
  st->name = bpf_object__name(obj);
  Handle h{Kind::Object, st};
  return Wrap(env, std::move(h));
}

// object_open_file(path: string, name?: string)
static Napi::Value OpenFile(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = GetString(info[0], "the path", Op::OpenObject);
  std::string name = info[1].IsUndefined() ? "" : GetString(info[1], "the name", Op::OpenObject);
  LIBBPF_OPTS(bpf_object_open_opts, opts);
  if (!name.empty()) opts.object_name = name.c_str();
  LogCapture cap;
  errno = 0;
  bpf_object* obj = bpf_object__open_file(path.c_str(), &opts);
  int err = obj ? 0 : LibbpfErr(libbpf_get_error(obj));
  return OpenCommon(env, obj, err, name.empty() ? path : name, cap.Take());
}

// object_open_buffer(bytes: Buffer, name: string)
static Napi::Value OpenBuffer(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Bytes b = GetBytes(info[0], "ELF image", Op::OpenObject);
  std::string name = GetString(info[1], "the name", Op::OpenObject);
  LIBBPF_OPTS(bpf_object_open_opts, opts);
  opts.object_name = name.c_str();
  LogCapture cap;
  errno = 0;
  // libbpf copies the image, so the Buffer may be reused after this returns.
  bpf_object* obj = bpf_object__open_mem(b.data, b.len, &opts);
  int err = obj ? 0 : LibbpfErr(libbpf_get_error(obj));
  return OpenCommon(env, obj, err, name, cap.Take());
}

static Napi::Value Close(const Napi::CallbackInfo& info) {
  Handle& h = Unwrap(info[0], Kind::Object);
  if (h.obj->busy) {
    h.obj->close_pending = true;  // the load worker closes it when it finishes
  } else {
    h.obj->Close();
  }
  return info.Env().Undefined();
}

static Napi::Value Programs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Handle& h = Open(info[0], Kind::Object, false, Op::ObjectInfo);
  Napi::Array out = Napi::Array::New(env);
  uint32_t i = 0;
  bpf_program* p;
  bpf_object__for_each_program(p, h.obj->obj) {
    Napi::Object o = Napi::Object::New(env);
    o.Set("name", bpf_program__name(p));
    o.Set("section", bpf_program__section_name(p));
    o.Set("type", static_cast<uint32_t>(bpf_program__type(p)));
    const char* tn = libbpf_bpf_prog_type_str(bpf_program__type(p));
    o.Set("typeName", tn ? tn : "unknown");
    o.Set("autoload", bpf_program__autoload(p));
    Handle ph{Kind::Program, h.obj, p};
    o.Set("handle", Wrap(env, std::move(ph)));
    out.Set(i++, o);
  }
  return out;
}

static Napi::Object MapDesc(Napi::Env env, const std::shared_ptr<ObjectState>& st, bpf_map* m) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("name", bpf_map__name(m));
  o.Set("type", static_cast<uint32_t>(bpf_map__type(m)));
  const char* tn = libbpf_bpf_map_type_str(bpf_map__type(m));
  o.Set("typeName", tn ? tn : "unknown");
  o.Set("keySize", bpf_map__key_size(m));
  o.Set("valueSize", bpf_map__value_size(m));
  o.Set("maxEntries", bpf_map__max_entries(m));
  o.Set("flags", bpf_map__map_flags(m));
  o.Set("internal", bpf_map__is_internal(m));
  o.Set("perCpu", IsPerCpu(m));
  o.Set("valueBytes", static_cast<double>(ValueBytes(m)));
  o.Set("batchOps", HasBatchOps(m));
  Handle mh{Kind::Map, st, nullptr, m};
  o.Set("handle", Wrap(env, std::move(mh)));
  return o;
}

static Napi::Value Maps(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Handle& h = Open(info[0], Kind::Object, false, Op::ObjectInfo);
  Napi::Array out = Napi::Array::New(env);
  uint32_t i = 0;
  bpf_map* m;
  bpf_object__for_each_map(m, h.obj->obj) out.Set(i++, MapDesc(env, h.obj, m));
  return out;
}

// Variables of the object's data sections (.rodata, .data, .bss, .kconfig, ...)
// with their BTF kind, so that TS can type- and size-check values set by name.
static Napi::Value Globals(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Handle& h = Open(info[0], Kind::Object, false, Op::ObjectInfo);
  Napi::Array out = Napi::Array::New(env);
  btf* b = bpf_object__btf(h.obj->obj);
  if (!b) return out;
  uint32_t idx = 0;
  bpf_map* m;
  bpf_object__for_each_map(m, h.obj->obj) {
    if (!bpf_map__is_internal(m)) continue;
    uint32_t sec_id = bpf_map__btf_value_type_id(m);
    const btf_type* sec = btf__type_by_id(b, sec_id);
    if (!sec || !btf_is_datasec(sec)) continue;
    const btf_var_secinfo* vs = btf_var_secinfos(sec);
    for (uint16_t i = 0; i < btf_vlen(sec); i++, vs++) {
      const btf_type* var = btf__type_by_id(b, vs->type);
      if (!var || !btf_is_var(var)) continue;
      Napi::Object o = Napi::Object::New(env);
      o.Set("name", btf__name_by_offset(b, var->name_off));
      o.Set("section", bpf_map__name(m));
      o.Set("offset", vs->offset);
      o.Set("size", vs->size);
      // Resolve typedefs and modifiers (const volatile) down to the real type.
      uint32_t tid = var->type;
      const btf_type* t = btf__type_by_id(b, tid);
      bool is_const = false;
      while (t && (btf_is_mod(t) || btf_is_typedef(t))) {
        if (btf_kind(t) == BTF_KIND_CONST) is_const = true;
        tid = t->type;
        t = btf__type_by_id(b, tid);
      }
      o.Set("readonly", is_const);
      std::string kind = "other";
      if (t) {
        if (btf_is_int(t)) {
          uint8_t enc = btf_int_encoding(t);
          kind = (enc & BTF_INT_BOOL) ? "bool" : (enc & BTF_INT_CHAR) ? "char" : "int";
          o.Set("signed", (enc & BTF_INT_SIGNED) != 0);
        } else if (btf_is_enum(t)) {
          kind = "int";
          o.Set("signed", (btf_kflag(t)) != 0);
        } else if (btf_is_array(t)) {
          kind = "array";
          const struct btf_array* a = btf_array(t);
          o.Set("length", a->nelems);
          const btf_type* et = btf__type_by_id(b, a->type);
          while (et && (btf_is_mod(et) || btf_is_typedef(et))) et = btf__type_by_id(b, et->type);
          if (et && btf_is_int(et)) {
            uint8_t enc = btf_int_encoding(et);
            o.Set("elemKind", (enc & BTF_INT_CHAR) ? "char" : "int");
            o.Set("elemSize", et->size);
            o.Set("elemTypeName", btf__name_by_offset(b, et->name_off));
            o.Set("signed", (enc & BTF_INT_SIGNED) != 0);
          } else {
            o.Set("elemKind", "other");
          }
        } else if (btf_is_ptr(t)) {
          kind = "pointer";
        } else if (btf_is_composite(t)) {
          kind = "struct";
        }
        o.Set("typeName", btf__name_by_offset(b, t->name_off));
      }
      o.Set("kind", kind);
      out.Set(idx++, o);
    }
  }
  return out;
}

// object_set_global(obj, section, offset, bytes): write into the section's
// initial value (before load).
static Napi::Value SetGlobal(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Handle& h = Open(info[0], Kind::Object, false, Op::SetGlobal);
  if (h.obj->loaded)
    ThrowCode(env, "ERR_BPF_LOADED", Op::SetGlobal, "globals can only be set before load()", CtxOf(h));
  std::string section = GetString(info[1], "the section", Op::SetGlobal);
  uint32_t offset = GetU32(info[2], "the offset", Op::SetGlobal);
  Bytes b = GetBytes(info[3], "value", Op::SetGlobal);
  bpf_map* m = bpf_object__find_map_by_name(h.obj->obj, section.c_str());
  if (!m) ThrowCode(env, "ERR_BPF_ARG", Op::SetGlobal, "no data section " + section, CtxOf(h));
  size_t size = 0;
  void* data = const_cast<void*>(bpf_map__initial_value(m, &size));
  if (!data || static_cast<size_t>(offset) + b.len > size)
    ThrowCode(env, "ERR_BPF_ARG", Op::SetGlobal, "value does not fit in section " + section, CtxOf(h));
  memcpy(static_cast<uint8_t*>(data) + offset, b.data, b.len);
  return env.Undefined();
}

// The load runs on the thread pool through raw Node-API async work: its
// completion may run while the environment is being torn down (a worker
// thread terminated during load()), when no JS can run. Every step there is a
// status, never an exception, so nothing can abort the process.
struct LoadWork {
  napi_async_work work = nullptr;
  napi_deferred deferred = nullptr;
  napi_ref handle = nullptr;  // no GC of the object's handle while loading
  std::shared_ptr<ObjectState> st;
  int err = 0;
  std::string log;
  FailedSyscall failed;
  std::string program;  // the program or map the failed syscall was for
  std::string map;
};

static void LoadExecute(napi_env, void* data) {
  auto* w = static_cast<LoadWork*>(data);
  LogCapture cap;
  w->err = bpf_object__load(w->st->obj);
  w->failed = cap.Failed(w->err);
  w->log = cap.Take();
#if defined(__GLIBC__)
  // libbpf parses the kernel's BTF for CO-RE during load and frees it at the
  // end; glibc keeps the freed heap (about 20 MB here) unless asked to give
  // it back. A long-running tracer should not carry it.
  malloc_trim(0);
#endif
  if (!w->err) return;
  // What the failed system call was for. libbpf names it in its log ("prog
  // 'x': ..." / "map 'x': failed to create"); it also closes every map and
  // program fd of a failed load, so the loops below (the first one without an
  // fd) only serve when the log does not name one.
  const std::string& log = w->log;
  auto named = [&log](const std::string& prefix, const char* after) -> std::string {
    for (size_t at = log.find(prefix); at != std::string::npos; at = log.find(prefix, at + 1)) {
      size_t start = at + prefix.size(), end = log.find('\'', start);
      if (end != std::string::npos && log.compare(end + 1, strlen(after), after) == 0) return log.substr(start, end - start);
    }
    return "";
  };
  if (w->failed.name == "BPF_PROG_LOAD") {
    w->program = named("prog '", ": BPF program load failed");
    if (w->program.empty()) w->program = named("prog '", ": failed to load");
  }
  else if (w->failed.name == "BPF_MAP_CREATE") w->map = named("map '", ": failed to create");
  if (!w->program.empty() || !w->map.empty()) return;
  if (w->failed.name == "BPF_PROG_LOAD") {
    bpf_program* p;
    bpf_object__for_each_program(p, w->st->obj) {
      if (bpf_program__autoload(p) && bpf_program__fd(p) < 0) {
        w->program = bpf_program__name(p);
        break;
      }
    }
  } else if (w->failed.name == "BPF_MAP_CREATE") {
    bpf_map* m;
    bpf_object__for_each_map(m, w->st->obj) {
      if (bpf_map__autocreate(m) && bpf_map__fd(m) < 0) {
        w->map = bpf_map__name(m);
        break;
      }
    }
  }
}

static void LoadComplete(napi_env env, napi_status status, void* data) {
  std::unique_ptr<LoadWork> w(static_cast<LoadWork*>(data));
  ObjectState& st = *w->st;
  st.busy = false;
  bool closed = st.close_pending;
  if (closed) st.Close();
  else if (w->err == 0) st.loaded = true;
  if (status == napi_ok) {
    try {
      Napi::Env e(env);
      Napi::HandleScope scope(e);
      if (closed) {
        napi_reject_deferred(env, w->deferred,
                             MakeCodeError(e, "ERR_BPF_CLOSED", Op::LoadObject,
                                           "the object was closed while it was loading", ErrCtx{st.name}));
      } else if (w->err) {
        ErrCtx c{st.name, w->program, w->map, "", w->failed.name};
        ResetFailedSyscall();  // what failed on this thread meanwhile is not this load's
        napi_reject_deferred(env, w->deferred, MakeErrnoError(e, w->err, Op::LoadObject, c, w->log));
      } else {
        napi_resolve_deferred(env, w->deferred, e.Undefined());
      }
    } catch (...) {
      // The environment is going away: nobody is left to settle the promise for.
    }
  }
  if (w->handle) napi_delete_reference(env, w->handle);
  napi_delete_async_work(env, w->work);
}

static Napi::Value Load(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Handle& h = Open(info[0], Kind::Object, false, Op::LoadObject);
  if (h.obj->loaded) ThrowCode(env, "ERR_BPF_LOADED", Op::LoadObject, "the object is already loaded", CtxOf(h));
  auto w = std::make_unique<LoadWork>();
  w->st = h.obj;
  napi_value promise, name;
  if (napi_create_promise(env, &w->deferred, &promise) != napi_ok ||
      napi_create_reference(env, info[0], 1, &w->handle) != napi_ok ||
      napi_create_string_utf8(env, "tracer-bpf:load", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_create_async_work(env, nullptr, name, LoadExecute, LoadComplete, w.get(), &w->work) != napi_ok) {
    if (w->handle) napi_delete_reference(env, w->handle);
    throw Napi::Error::New(env);
  }
  if (napi_queue_async_work(env, w->work) != napi_ok) {
    napi_delete_reference(env, w->handle);
    napi_delete_async_work(env, w->work);
    throw Napi::Error::New(env);
  }
  h.obj->busy = true;
  w.release();  // owned by the async work until LoadComplete
  return Napi::Value(env, promise);
}

static Napi::Value Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Handle& h = Unwrap(info[0], Kind::Object);
  Napi::Object o = Napi::Object::New(env);
  o.Set("name", h.obj->name);
  o.Set("loaded", h.obj->loaded);
  o.Set("closed", h.obj->closed || h.obj->close_pending);
  o.Set("loading", h.obj->busy);
  o.Set("links", static_cast<uint32_t>(h.obj->links.size()));
  return o;
}

void InitObject(Napi::Env env, Napi::Object exports) {
  exports.Set("object_open_file", Napi::Function::New(env, OpenFile));
  exports.Set("object_open_buffer", Napi::Function::New(env, OpenBuffer));
  exports.Set("object_close", Napi::Function::New(env, Close));
  exports.Set("object_programs", Napi::Function::New(env, Programs));
  exports.Set("object_maps", Napi::Function::New(env, Maps));
  exports.Set("object_globals", Napi::Function::New(env, Globals));
  exports.Set("object_set_global", Napi::Function::New(env, SetGlobal));
  exports.Set("object_load", Napi::Function::New(env, Load));
  exports.Set("object_info", Napi::Function::New(env, Info));
}

}  // namespace tb
