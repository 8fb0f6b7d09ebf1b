// bpf_map: element ops and batch ops into caller-owned buffers. Sizes are
// checked here too (the TS layer checks first, with friendlier errors) so a
// short buffer can never let the kernel read or write past it.
#include <cerrno>

#include "common.h"

namespace tb {

static bool IsPerCpu(bpf_map_type t) {
  return t == BPF_MAP_TYPE_PERCPU_HASH || t == BPF_MAP_TYPE_PERCPU_ARRAY ||
         t == BPF_MAP_TYPE_LRU_PERCPU_HASH || t == BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE;
}

// Bytes of one value as the bpf(2) syscall moves it (per-CPU maps: one 8-byte
// aligned slot per possible CPU).
static size_t ValueBytes(bpf_map* m) {
  size_t vs = bpf_map__value_size(m);
  if (!IsPerCpu(bpf_map__type(m))) return vs;
  int ncpu = libbpf_num_possible_cpus();
  return ((vs + 7) / 8) * 8 * (ncpu > 0 ? ncpu : 1);
}

static void CheckLen(Napi::Env env, const Handle& h, const Bytes& b, size_t want, const char* what,
                     size_t count = 1) {
  if (b.len < want * count) {
    ThrowCode(env, "ERR_BPF_ARG",
              std::string(what) + " buffer holds " + std::to_string(b.len) + " bytes, needs " +
                  std::to_string(want * count),
              CtxOf(h));
  }
}

static Napi::Value SetMaxEntries(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Handle& h = Open(info[0], Kind::Map, false);
  if (h.obj->loaded) ThrowCode(env, "ERR_BPF_LOADED", "max entries can only change before load()", CtxOf(h));
  int err = bpf_map__set_max_entries(h.map, info[1].As<Napi::Number>().Uint32Value());
  if (err) ThrowErrno(env, err, "set max entries", CtxOf(h));
  return env.Undefined();
}

// map_set_autocreate(map, bool): skip creating a map the chosen programs don't use
// (e.g. the ring buffer when the perf buffer transport is forced).
static Napi::Value SetAutocreate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Handle& h = Open(info[0], Kind::Map, false);
  if (h.obj->loaded) ThrowCode(env, "ERR_BPF_LOADED", "autocreate can only change before load()", CtxOf(h));
  int err = bpf_map__set_autocreate(h.map, info[1].As<Napi::Boolean>());
  if (err) ThrowErrno(env, err, "set autocreate", CtxOf(h));
  return env.Undefined();
}

static Napi::Value Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Handle& h = Open(info[0], Kind::Map, true);
  bpf_map_info mi{};
  uint32_t len = sizeof(mi);
  int fd = bpf_map__fd(h.map);
  int err = bpf_obj_get_info_by_fd(fd, &mi, &len);
  if (err) ThrowErrno(env, errno, "BPF_OBJ_GET_INFO_BY_FD", CtxOf(h));
  Napi::Object o = Napi::Object::New(env);
  o.Set("fd", fd);
  o.Set("id", mi.id);
  o.Set("type", mi.type);
  o.Set("keySize", mi.key_size);
  o.Set("valueSize", mi.value_size);
  o.Set("maxEntries", mi.max_entries);
  o.Set("flags", mi.map_flags);
  o.Set("valueBytes", static_cast<double>(ValueBytes(h.map)));
  return o;
}

// map_lookup(map, key, valueOut, flags) -> boolean (false: no such key)
static Napi::Value Lookup(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Handle& h = Open(info[0], Kind::Map, true);
  Bytes k = GetBytes(info[1], "key");
  Bytes v = GetBytes(info[2], "value");
  CheckLen(env, h, k, bpf_map__key_size(h.map), "key");
  CheckLen(env, h, v, ValueBytes(h.map), "value");
  uint64_t flags = info[3].As<Napi::Number>().Int64Value();
  int err = bpf_map_lookup_elem_flags(bpf_map__fd(h.map), k.data, v.data, flags);
  if (err) {
    if (errno == ENOENT) return Napi::Boolean::New(env, false);
    ThrowErrno(env, errno, "BPF_MAP_LOOKUP_ELEM", CtxOf(h));
  }
  return Napi::Boolean::New(env, true);
}

// map_update(map, key, value, flags)
static Napi::Value Update(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Handle& h = Open(info[0], Kind::Map, true);
  Bytes k = GetBytes(info[1], "key");
  Bytes v = GetBytes(info[2], "value");
  CheckLen(env, h, k, bpf_map__key_size(h.map), "key");
  CheckLen(env, h, v, ValueBytes(h.map), "value");
  uint64_t flags = info[3].As<Napi::Number>().Int64Value();
  int err = bpf_map_update_elem(bpf_map__fd(h.map), k.data, v.data, flags);
  if (err) ThrowErrno(env, errno, "BPF_MAP_UPDATE_ELEM", CtxOf(h));
  return env.Undefined();
}

// map_delete(map, key) -> boolean (false: no such key)
static Napi::Value Delete(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Handle& h = Open(info[0], Kind::Map, true);
  Bytes k = GetBytes(info[1], "key");
  CheckLen(env, h, k, bpf_map__key_size(h.map), "key");
  int err = bpf_map_delete_elem(bpf_map__fd(h.map), k.data);
  if (err) {
    if (errno == ENOENT) return Napi::Boolean::New(env, false);
    ThrowErrno(env, errno, "BPF_MAP_DELETE_ELEM", CtxOf(h));
  }
  return Napi::Boolean::New(env, true);
}

// map_next_key(map, key|null, out) -> boolean (false: no more keys)
static Napi::Value NextKey(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Handle& h = Open(info[0], Kind::Map, true);
  Bytes k = GetBytes(info[1], "key", true);
  Bytes out = GetBytes(info[2], "next key");
  if (k.data) CheckLen(env, h, k, bpf_map__key_size(h.map), "key");
  CheckLen(env, h, out, bpf_map__key_size(h.map), "next key");
  int err = bpf_map_get_next_key(bpf_map__fd(h.map), k.data, out.data);
  if (err) {
    if (errno == ENOENT) return Napi::Boolean::New(env, false);
    ThrowErrno(env, errno, "BPF_MAP_GET_NEXT_KEY", CtxOf(h));
  }
  return Napi::Boolean::New(env, true);
}

// map_lookup_batch(map, inBatch|null, outBatch, keys, values, count, andDelete, elemFlags)
//   -> { count, done }: done when the kernel reported the end of the map
//      (ENOENT), which may come with the last elements.
static Napi::Value LookupBatch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Handle& h = Open(info[0], Kind::Map, true);
  Bytes in = GetBytes(info[1], "in batch", true);
  Bytes out = GetBytes(info[2], "out batch");
  Bytes keys = GetBytes(info[3], "keys");
  Bytes values = GetBytes(info[4], "values");
  uint32_t count = info[5].As<Napi::Number>().Uint32Value();
  bool del = info[6].As<Napi::Boolean>();
  uint64_t elem_flags = info[7].As<Napi::Number>().Int64Value();
  size_t ks = bpf_map__key_size(h.map);
  size_t cursor = ks < 8 ? 8 : ks;
  if (in.data) CheckLen(env, h, in, cursor, "in batch");
  CheckLen(env, h, out, cursor, "out batch");
  CheckLen(env, h, keys, ks, "keys", count);
  CheckLen(env, h, values, ValueBytes(h.map), "values", count);
  LIBBPF_OPTS(bpf_map_batch_opts, opts);
  opts.elem_flags = elem_flags;
  uint32_t n = count;
  int fd = bpf_map__fd(h.map);
  int err = del ? bpf_map_lookup_and_delete_batch(fd, in.data, out.data, keys.data, values.data, &n, &opts)
                : bpf_map_lookup_batch(fd, in.data, out.data, keys.data, values.data, &n, &opts);
  bool done = false;
  if (err) {
    int e = errno;
    if (e != ENOENT)
      ThrowErrno(env, e, del ? "BPF_MAP_LOOKUP_AND_DELETE_BATCH" : "BPF_MAP_LOOKUP_BATCH", CtxOf(h));
    done = true;
  }
  Napi::Object o = Napi::Object::New(env);
  o.Set("count", n);
  o.Set("done", done);
  return o;
}

// map_update_batch(map, keys, values, count, elemFlags) -> count updated
static Napi::Value UpdateBatch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Handle& h = Open(info[0], Kind::Map, true);
  Bytes keys = GetBytes(info[1], "keys");
  Bytes values = GetBytes(info[2], "values");
  uint32_t count = info[3].As<Napi::Number>().Uint32Value();
  CheckLen(env, h, keys, bpf_map__key_size(h.map), "keys", count);
  CheckLen(env, h, values, ValueBytes(h.map), "values", count);
  LIBBPF_OPTS(bpf_map_batch_opts, opts);
  opts.elem_flags = info[4].As<Napi::Number>().Int64Value();
  uint32_t n = count;
  int err = bpf_map_update_batch(bpf_map__fd(h.map), keys.data, values.data, &n, &opts);
  if (err) ThrowErrno(env, errno, "BPF_MAP_UPDATE_BATCH", CtxOf(h));
  return Napi::Number::New(env, n);
}

void InitMap(Napi::Env env, Napi::Object exports) {
  exports.Set("map_set_max_entries", Napi::Function::New(env, SetMaxEntries));
  exports.Set("map_set_autocreate", Napi::Function::New(env, SetAutocreate));
  exports.Set("map_info", Napi::Function::New(env, Info));
  exports.Set("map_lookup", Napi::Function::New(env, Lookup));
  exports.Set("map_update", Napi::Function::New(env, Update));
  exports.Set("map_delete", Napi::Function::New(env, Delete));
  exports.Set("map_next_key", Napi::Function::New(env, NextKey));
  exports.Set("map_lookup_batch", Napi::Function::New(env, LookupBatch));
  exports.Set("map_update_batch", Napi::Function::New(env, UpdateBatch));
  exports.Set("num_possible_cpus", Napi::Function::New(env, [](const Napi::CallbackInfo& i) {
    return Napi::Number::New(i.Env(), libbpf_num_possible_cpus());
  }));
}

}  // namespace tb
