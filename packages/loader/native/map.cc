// bpf_map: element ops and batch ops into caller-owned buffers. Sizes are
// checked here too (the TS layer checks first, with friendlier errors) so a
// short buffer can never let the kernel read or write past it.
#include <cerrno>

#include "common.h"

namespace tb {

// The kernel's rules for map types, in one place: which types are per-CPU
// (and so how many bytes one value takes in a syscall), which have batch ops.
bool IsPerCpu(bpf_map* m) {
  bpf_map_type t = bpf_map__type(m);
  return t == BPF_MAP_TYPE_PERCPU_HASH || t == BPF_MAP_TYPE_PERCPU_ARRAY ||
         t == BPF_MAP_TYPE_LRU_PERCPU_HASH || t == BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE;
}

size_t ValueBytes(bpf_map* m) {
  size_t vs = bpf_map__value_size(m);
  if (!IsPerCpu(m)) return vs;
  int ncpu = libbpf_num_possible_cpus();
  return ((vs + 7) / 8) * 8 * (ncpu > 0 ? ncpu : 1);
}

bool HasBatchOps(bpf_map* m) {
  switch (bpf_map__type(m)) {
    case BPF_MAP_TYPE_HASH: case BPF_MAP_TYPE_ARRAY: case BPF_MAP_TYPE_PERCPU_HASH:
    case BPF_MAP_TYPE_PERCPU_ARRAY: case BPF_MAP_TYPE_LRU_HASH: case BPF_MAP_TYPE_LRU_PERCPU_HASH:
      return true;
    default:
      return false;
  }
}

static void CheckLen(Napi::Env env, Op op, const Handle& h, const Bytes& b, size_t want, const char* what,
                     size_t count = 1) {
  if (b.len < want * count) {
    ThrowCode(env, "ERR_BPF_ARG", op,
              std::string(what) + " buffer holds " + std::to_string(b.len) + " bytes, needs " +
                  std::to_string(want * count),
              CtxOf(h));
  }
}

// A pre-load setting of the map's definition: max entries, key size, value size.
static Napi::Value SetDef(const Napi::CallbackInfo& info, Op op, const char* what,
                          int (*set)(bpf_map*, __u32)) {
  Napi::Env env = info.Env();
  Handle& h = Open(info[0], Kind::Map, false, op);
  if (h.obj->loaded) ThrowCode(env, "ERR_BPF_LOADED", op, std::string(what) + " can only change before load()", CtxOf(h));
  int err = set(h.map, GetU32(info[1], what, op));
  if (err) ThrowErrno(env, LibbpfErr(err), op, CtxOf(h));
  return Napi::Number::New(env, static_cast<double>(ValueBytes(h.map)));  // value bytes after the change
}

static Napi::Value SetMaxEntries(const Napi::CallbackInfo& info) {
  return SetDef(info, Op::MapSetMaxEntries, "max entries", bpf_map__set_max_entries);
}
static Napi::Value SetKeySize(const Napi::CallbackInfo& info) {
  return SetDef(info, Op::MapSetKeySize, "the key size", bpf_map__set_key_size);
}
static Napi::Value SetValueSize(const Napi::CallbackInfo& info) {
  return SetDef(info, Op::MapSetValueSize, "the value size", bpf_map__set_value_size);
}
static Napi::Value SetFlags(const Napi::CallbackInfo& info) {
  return SetDef(info, Op::MapSetFlags, "map flags", bpf_map__set_map_flags);
}

// map_set_autocreate(map, bool): skip creating a map the chosen programs don't use
// (e.g. the ring buffer when the perf buffer transport is forced).
static Napi::Value SetAutocreate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Handle& h = Open(info[0], Kind::Map, false, Op::MapSetAutocreate);
  if (h.obj->loaded) ThrowCode(env, "ERR_BPF_LOADED", Op::MapSetAutocreate, "autocreate can only change before load()", CtxOf(h));
  int err = bpf_map__set_autocreate(h.map, GetBool(info[1], "autocreate", Op::MapSetAutocreate));
  if (err) ThrowErrno(env, LibbpfErr(err), Op::MapSetAutocreate, CtxOf(h));
  return env.Undefined();
}

static Napi::Value Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Handle& h = Open(info[0], Kind::Map, true, Op::MapInfo);
  bpf_map_info mi{};
  uint32_t len = sizeof(mi);
  int fd = bpf_map__fd(h.map);
  int err = bpf_obj_get_info_by_fd(fd, &mi, &len);
  if (err) ThrowErrno(env, errno, Op::MapInfo, CtxOf(h));
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

// The arguments of an element operation: (map, key, value, flags), sizes checked.
struct ElemArgs {
  Handle* h;
  Bytes key;
  Bytes value;
  uint64_t flags;
};

static ElemArgs GetElemArgs(const Napi::CallbackInfo& info, Op op) {
  Handle& h = Open(info[0], Kind::Map, true, op);
  ElemArgs a{&h, GetBytes(info[1], "key", op), GetBytes(info[2], "value", op), GetU32(info[3], "flags", op)};
  CheckLen(info.Env(), op, h, a.key, bpf_map__key_size(h.map), "key");
  CheckLen(info.Env(), op, h, a.value, ValueBytes(h.map), "value");
  return a;
}

// map_lookup(map, key, valueOut, flags) -> boolean (false: no such key)
static Napi::Value Lookup(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ElemArgs a = GetElemArgs(info, Op::MapLookup);
  if (bpf_map_lookup_elem_flags(bpf_map__fd(a.h->map), a.key.data, a.value.data, a.flags)) {
    if (errno == ENOENT) return Napi::Boolean::New(env, false);
    ThrowErrno(env, errno, Op::MapLookup, CtxOf(*a.h));
  }
  return Napi::Boolean::New(env, true);
}

// map_update(map, key, value, flags)
static Napi::Value Update(const Napi::CallbackInfo& info) {
  ElemArgs a = GetElemArgs(info, Op::MapUpdate);
  if (bpf_map_update_elem(bpf_map__fd(a.h->map), a.key.data, a.value.data, a.flags))
    ThrowErrno(info.Env(), errno, Op::MapUpdate, CtxOf(*a.h));
  return info.Env().Undefined();
}

// map_delete(map, key) -> boolean (false: no such key)
static Napi::Value Delete(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const Op op = Op::MapDelete;
  Handle& h = Open(info[0], Kind::Map, true, op);
  Bytes k = GetBytes(info[1], "key", op);
  CheckLen(env, op, h, k, bpf_map__key_size(h.map), "key");
  int err = bpf_map_delete_elem(bpf_map__fd(h.map), k.data);
  if (err) {
    if (errno == ENOENT) return Napi::Boolean::New(env, false);
    ThrowErrno(env, errno, op, CtxOf(h));
  }
  return Napi::Boolean::New(env, true);
}

// map_next_key(map, key|null, out) -> boolean (false: no more keys)
static Napi::Value NextKey(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const Op op = Op::MapNextKey;
  Handle& h = Open(info[0], Kind::Map, true, op);
  Bytes k = GetBytes(info[1], "key", op, true);
  Bytes out = GetBytes(info[2], "next key", op);
  if (k.data) CheckLen(env, op, h, k, bpf_map__key_size(h.map), "key");
  CheckLen(env, op, h, out, bpf_map__key_size(h.map), "next key");
  int err = bpf_map_get_next_key(bpf_map__fd(h.map), k.data, out.data);
  if (err) {
    if (errno == ENOENT) return Napi::Boolean::New(env, false);
    ThrowErrno(env, errno, op, CtxOf(h));
  }
  return Napi::Boolean::New(env, true);
}

// map_lookup_batch(map, inBatch|null, outBatch, keys, values, count, andDelete, elemFlags)
//   -> { count, done }: done when the kernel reported the end of the map
//      (ENOENT), which may come with the last elements.
static Napi::Value LookupBatch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const Op op = Op::MapLookupBatch;
  Handle& h = Open(info[0], Kind::Map, true, op);
  Bytes in = GetBytes(info[1], "in batch", op, true);
  Bytes out = GetBytes(info[2], "out batch", op);
  Bytes keys = GetBytes(info[3], "keys", op);
  Bytes values = GetBytes(info[4], "values", op);
  uint32_t count = GetU32(info[5], "count", op);
  bool del = GetBool(info[6], "delete", op);
  uint64_t elem_flags = GetU32(info[7], "flags", op);
  size_t ks = bpf_map__key_size(h.map);
  size_t cursor = ks < 8 ? 8 : ks;
  if (in.data) CheckLen(env, op, h, in, cursor, "in batch");
  CheckLen(env, op, h, out, cursor, "out batch");
  CheckLen(env, op, h, keys, ks, "keys", count);
  CheckLen(env, op, h, values, ValueBytes(h.map), "values", count);
  LIBBPF_OPTS(bpf_map_batch_opts, opts);
  opts.elem_flags = elem_flags;
  uint32_t n = count;
  int fd = bpf_map__fd(h.map);
  int err = del ? bpf_map_lookup_and_delete_batch(fd, in.data, out.data, keys.data, values.data, &n, &opts)
                : bpf_map_lookup_batch(fd, in.data, out.data, keys.data, values.data, &n, &opts);
  bool done = false;
  if (err) {
    int e = errno;
    if (e != ENOENT) ThrowErrno(env, e, op, CtxOf(h));
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
  const Op op = Op::MapUpdateBatch;
  Handle& h = Open(info[0], Kind::Map, true, op);
  Bytes keys = GetBytes(info[1], "keys", op);
  Bytes values = GetBytes(info[2], "values", op);
  uint32_t count = GetU32(info[3], "count", op);
  CheckLen(env, op, h, keys, bpf_map__key_size(h.map), "keys", count);
  CheckLen(env, op, h, values, ValueBytes(h.map), "values", count);
  LIBBPF_OPTS(bpf_map_batch_opts, opts);
  opts.elem_flags = GetU32(info[4], "flags", op);
  uint32_t n = count;
  int err = bpf_map_update_batch(bpf_map__fd(h.map), keys.data, values.data, &n, &opts);
  if (err) ThrowErrno(env, errno, op, CtxOf(h));
  return Napi::Number::New(env, n);
}

void InitMap(Napi::Env env, Napi::Object exports) {
  exports.Set("map_set_max_entries", Napi::Function::New(env, SetMaxEntries));
  exports.Set("map_set_autocreate", Napi::Function::New(env, SetAutocreate));
  exports.Set("map_set_key_size", Napi::Function::New(env, SetKeySize));
  exports.Set("map_set_value_size", Napi::Function::New(env, SetValueSize));
  exports.Set("map_set_flags", Napi::Function::New(env, SetFlags));
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
