#include <cerrno>
#include <cstring>

#include "common.h"

namespace tb {

struct AddonData {
  Napi::FunctionReference factory;
};

const char* OpId(Op op) {
  switch (op) {
#define TB_OP_CASE(name, id) \
  case Op::name:             \
    return id;
    TB_OPS(TB_OP_CASE)
#undef TB_OP_CASE
  }
  return "handle";
}

void SetErrorFactory(Napi::Env env, Napi::Function fn) {
  auto* data = env.GetInstanceData<AddonData>();
  if (!data) {
    data = new AddonData();
    env.SetInstanceData(data);
  }
  data->factory = Napi::Persistent(fn);
}

int LibbpfErr(long ret) {
  if (ret < 0) return static_cast<int>(-ret);
  return errno ? errno : EINVAL;
}

// { code?, errno?, opId, syscall?, object?, program?, map?, target?, log?, message? }
static Napi::Value Build(Napi::Env env, const char* code, int err, Op op, const ErrCtx& ctx,
                         const std::string& log, const std::string& message) {
  Napi::Object info = Napi::Object::New(env);
  if (code) info.Set("code", code);
  if (err) info.Set("errno", err);
  info.Set("opId", OpId(op));
  if (!ctx.syscall.empty()) info.Set("syscall", ctx.syscall);
  if (!ctx.object.empty()) info.Set("object", ctx.object);
  if (!ctx.program.empty()) info.Set("program", ctx.program);
  if (!ctx.map.empty()) info.Set("map", ctx.map);
  if (!ctx.target.empty()) info.Set("target", ctx.target);
  if (!log.empty()) info.Set("log", log);
  if (!message.empty()) info.Set("message", message);
  auto* data = env.GetInstanceData<AddonData>();
  if (data && !data->factory.IsEmpty()) return data->factory.Call({info});
  // No factory registered (the TS layer always registers one): a plain Error.
  Napi::Error e = Napi::Error::New(env, std::string(OpId(op)) + ": " + (code ? code : message));
  e.Value().Set("errno", err);
  return e.Value();
}

Napi::Value MakeErrnoError(Napi::Env env, int err, Op op, const ErrCtx& ctx, const std::string& log) {
  if (err < 0) err = -err;
  if (err == 0) err = EINVAL;
  char text[128];
  libbpf_strerror(err, text, sizeof(text));  // libbpf's own codes (4000+) too
  ErrCtx c = ctx;
  if (c.syscall.empty()) {
    FailedSyscall f = LastFailedSyscall();
    if (f.err == err) c.syscall = f.name;
  }
  return Build(env, nullptr, err, op, c, log, text);
}

void ThrowErrno(Napi::Env env, int err, Op op, const ErrCtx& ctx, const std::string& log) {
  throw Napi::Error(env, MakeErrnoError(env, err, op, ctx, log));
}

Napi::Value MakeCodeError(Napi::Env env, const char* code, Op op, const std::string& message, const ErrCtx& ctx) {
  return Build(env, code, 0, op, ctx, "", message);
}

void ThrowCode(Napi::Env env, const char* code, Op op, const std::string& message, const ErrCtx& ctx) {
  throw Napi::Error(env, MakeCodeError(env, code, op, message, ctx));
}

}  // namespace tb
