// bpf_object: open (path or memory), pre-load settings, load on the thread pool, close.
#include <cstring>

#include "common.h"

namespace tb {

static Napi::Value OpenCommon(Napi::Env env, bpf_object* obj, int err, const std::string& name,
                              const std::string& log) {
  if (!obj) ThrowErrno(env, err, "open object", ErrCtx{name, "", "", ""}, log);
  auto st = std::make_shared<ObjectState>();
  st->obj = obj;
  st->name = bpf_object__name(obj);
  Handle h{Kind::Object, st};
  return Wrap(env, std::move(h));
}

// object_open_file(path: string, name?: string)
static Napi::Value OpenFile(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = info[0].As<Napi::String>();
  std::string name = info[1].IsString() ? info[1].As<Napi::String>().Utf8Value() : "";
  LIBBPF_OPTS(bpf_object_open_opts, opts);
  if (!name.empty()) opts.object_name = name.c_str();
  LogCapture cap;
  errno = 0;
  bpf_object* obj = bpf_object__open_file(path.c_str(), &opts);
  int err = obj ? 0 : -libbpf_get_error(obj);
  if (!obj && err == 0) err = errno ? errno : EINVAL;
  return OpenCommon(env, obj, err, name.empty() ? path : name, cap.Take());
}

// object_open_buffer(bytes: Buffer, name: string)
static Napi::Value OpenBuffer(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Bytes b = GetBytes(info[0], "ELF image");
  std::string name = info[1].As<Napi::String>();
  LIBBPF_OPTS(bpf_object_open_opts, opts);
  opts.object_name = name.c_str();
  LogCapture cap;
  errno = 0;
  // libbpf copies the image, so the Buffer may be reused after this returns.
  bpf_object* obj = bpf_object__open_mem(b.data, b.len, &opts);
  int err = obj ? 0 : -libbpf_get_error(obj);
  if (!obj && err == 0) err = errno ? errno : EINVAL;
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
  Handle& h = Open(info[0], Kind::Object, false);
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
  Handle mh{Kind::Map, st, nullptr, m};
  o.Set("handle", Wrap(env, std::move(mh)));
  return o;
}

static Napi::Value Maps(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Handle& h = Open(info[0], Kind::Object, false);
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
  Handle& h = Open(info[0], Kind::Object, false);
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
  Handle& h = Open(info[0], Kind::Object, false);
  if (h.obj->loaded)
    ThrowCode(env, "ERR_BPF_LOADED", "globals can only be set before load()", CtxOf(h));
  std::string section = info[1].As<Napi::String>();
  uint32_t offset = info[2].As<Napi::Number>().Uint32Value();
  Bytes b = GetBytes(info[3], "value");
  bpf_map* m = bpf_object__find_map_by_name(h.obj->obj, section.c_str());
  if (!m) ThrowCode(env, "ERR_BPF_ARG", "no data section " + section, CtxOf(h));
  size_t size = 0;
  void* data = const_cast<void*>(bpf_map__initial_value(m, &size));
  if (!data || static_cast<size_t>(offset) + b.len > size)
    ThrowCode(env, "ERR_BPF_ARG", "value does not fit in section " + section, CtxOf(h));
  memcpy(static_cast<uint8_t*>(data) + offset, b.data, b.len);
  return env.Undefined();
}

class LoadWorker : public Napi::AsyncWorker {
 public:
  LoadWorker(Napi::Env env, std::shared_ptr<ObjectState> st, Napi::Value handle)
      : Napi::AsyncWorker(env, "tracer-bpf:load"), st_(std::move(st)), deferred_(env) {
    handle_ = Napi::Persistent(handle);  // no GC of the handle while loading
  }
  Napi::Promise Promise() { return deferred_.Promise(); }

  void Execute() override {
    LogCapture cap;
    err_ = bpf_object__load(st_->obj);
    log_ = cap.Take();
  }

  void OnOK() override {
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    st_->busy = false;
    if (st_->close_pending) {
      st_->Close();
      deferred_.Reject(MakeCodeError(env));
      return;
    }
    if (err_) {
      deferred_.Reject(MakeErrnoError(env, err_, "load object", ErrCtx{st_->name, "", "", ""}, log_));
      return;
    }
    st_->loaded = true;
    deferred_.Resolve(env.Undefined());
  }
  void OnError(const Napi::Error& e) override {
    st_->busy = false;
    deferred_.Reject(e.Value());
  }

 private:
  Napi::Value MakeCodeError(Napi::Env env) {
    try {
      ThrowCode(env, "ERR_BPF_CLOSED", "the object was closed while it was loading",
                ErrCtx{st_->name, "", "", ""});
    } catch (const Napi::Error& e) {
      return e.Value();
    }
    return env.Undefined();
  }
  std::shared_ptr<ObjectState> st_;
  Napi::Promise::Deferred deferred_;
  Napi::Reference<Napi::Value> handle_;
  int err_ = 0;
  std::string log_;
};

static Napi::Value Load(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Handle& h = Open(info[0], Kind::Object, false);
  if (h.obj->loaded) ThrowCode(env, "ERR_BPF_LOADED", "the object is already loaded", CtxOf(h));
  h.obj->busy = true;
  auto* w = new LoadWorker(env, h.obj, info[0]);
  Napi::Promise p = w->Promise();
  w->Queue();
  return p;
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
