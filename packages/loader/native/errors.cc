#include <cerrno>
#include <cstring>

#include "common.h"

namespace tb {

struct AddonData {
  Napi::FunctionReference factory;
};

void SetErrorFactory(Napi::Env env, Napi::Function fn) {
  auto* data = env.GetInstanceData<AddonData>();
  if (!data) {
    data = new AddonData();
    env.SetInstanceData(data);
  }
  data->factory = Napi::Persistent(fn);
}

const char* ErrnoName(int err) {
  switch (err) {
    case EPERM: return "EPERM";
    case ENOENT: return "ENOENT";
    case ESRCH: return "ESRCH";
    case EINTR: return "EINTR";
    case EIO: return "EIO";
    case ENXIO: return "ENXIO";
    case E2BIG: return "E2BIG";
    case ENOEXEC: return "ENOEXEC";
    case EBADF: return "EBADF";
    case EAGAIN: return "EAGAIN";
    case ENOMEM: return "ENOMEM";
    case EACCES: return "EACCES";
    case EFAULT: return "EFAULT";
    case EBUSY: return "EBUSY";
    case EEXIST: return "EEXIST";
    case ENODEV: return "ENODEV";
    case ENOTDIR: return "ENOTDIR";
    case EISDIR: return "EISDIR";
    case EINVAL: return "EINVAL";
    case ENFILE: return "ENFILE";
    case EMFILE: return "EMFILE";
    case ENOSPC: return "ENOSPC";
    case ERANGE: return "ERANGE";
    case EDEADLK: return "EDEADLK";
    case ENAMETOOLONG: return "ENAMETOOLONG";
    case ENOSYS: return "ENOSYS";
    case ELOOP: return "ELOOP";
    case ENODATA: return "ENODATA";
    case EPROTO: return "EPROTO";
    case EBADMSG: return "EBADMSG";
    case EOVERFLOW: return "EOVERFLOW";
    case EOPNOTSUPP: return "EOPNOTSUPP";
    case EADDRINUSE: return "EADDRINUSE";
    case ETIMEDOUT: return "ETIMEDOUT";
    case ESTALE: return "ESTALE";
    case ECANCELED: return "ECANCELED";
    case 524: return "ENOTSUPP";  // kernel-internal, leaks out of bpf(2)
    case 4000: return "LIBBPF_ERRNO__LIBELF";
    case 4001: return "LIBBPF_ERRNO__FORMAT";
    case 4002: return "LIBBPF_ERRNO__KVERSION";
    case 4003: return "LIBBPF_ERRNO__ENDIAN";
    case 4004: return "LIBBPF_ERRNO__INTERNAL";
    case 4005: return "LIBBPF_ERRNO__RELOC";
    case 4006: return "LIBBPF_ERRNO__LOAD";
    case 4007: return "LIBBPF_ERRNO__VERIFY";
    case 4008: return "LIBBPF_ERRNO__PROG2BIG";
    case 4009: return "LIBBPF_ERRNO__KVER";
    case 4010: return "LIBBPF_ERRNO__PROGTYPE";
    case 4011: return "LIBBPF_ERRNO__WRNGPID";
    case 4012: return "LIBBPF_ERRNO__INVSEQ";
    case 4013: return "LIBBPF_ERRNO__NLPARSE";
    default: return nullptr;
  }
}

static Napi::Value Build(Napi::Env env, const char* code, int err, const std::string& op,
                         const ErrCtx& ctx, const std::string& log, const std::string& message) {
  Napi::Object info = Napi::Object::New(env);
  info.Set("code", code);
  if (err) info.Set("errno", err);
  info.Set("op", op);
  if (!ctx.object.empty()) info.Set("object", ctx.object);
  if (!ctx.program.empty()) info.Set("program", ctx.program);
  if (!ctx.map.empty()) info.Set("map", ctx.map);
  if (!ctx.target.empty()) info.Set("target", ctx.target);
  if (!log.empty()) info.Set("log", log);
  if (!message.empty()) info.Set("message", message);
  auto* data = env.GetInstanceData<AddonData>();
  if (data && !data->factory.IsEmpty()) {
    return data->factory.Call({info});
  }
  // No factory registered (the TS layer always registers one): a plain Error.
  Napi::Error e = Napi::Error::New(env, op + ": " + code);
  e.Value().Set("code", code);
  if (err) e.Value().Set("errno", err);
  return e.Value();
}

Napi::Value MakeErrnoError(Napi::Env env, int err, const std::string& op, const ErrCtx& ctx,
                           const std::string& log) {
  if (err < 0) err = -err;
  const char* name = ErrnoName(err);
  std::string code = name ? name : ("ERRNO_" + std::to_string(err));
  std::string message = strerror(err);
  return Build(env, code.c_str(), err, op, ctx, log, message);
}

void ThrowErrno(Napi::Env env, int err, const std::string& op, const ErrCtx& ctx,
                const std::string& log) {
  throw Napi::Error(env, MakeErrnoError(env, err, op, ctx, log));
}

void ThrowCode(Napi::Env env, const char* code, const std::string& message, const ErrCtx& ctx) {
  throw Napi::Error(env, Build(env, code, 0, "", ctx, "", message));
}

}  // namespace tb
