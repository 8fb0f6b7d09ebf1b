// Module entry: registers every part. Context-aware (no static JS state), so
// it loads in worker threads.
#include "common.h"

namespace tb {

static Napi::Value SetFactory(const Napi::CallbackInfo& info) {
  if (!info[0].IsFunction()) ThrowCode(info.Env(), "ERR_BPF_ARG", Op::Handle, "the error factory must be a function");
  SetErrorFactory(info.Env(), info[0].As<Napi::Function>());
  return info.Env().Undefined();
}

// set_log_level(level): libbpf messages at or below `level` (0 warn, 1 info,
// 2 debug) also go to stderr; -1 (the default) sends nothing there.
static Napi::Value SetLogLevel(const Napi::CallbackInfo& info) {
  if (!info[0].IsNumber()) ThrowCode(info.Env(), "ERR_BPF_ARG", Op::Handle, "the level must be a number");
  SetStderrLevel(info[0].As<Napi::Number>().Int32Value());
  return info.Env().Undefined();
}

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  InstallPrint();
  exports.Set("set_error_factory", Napi::Function::New(env, SetFactory));
  exports.Set("set_log_level", Napi::Function::New(env, SetLogLevel));
  exports.Set("libbpf_version", Napi::String::New(env, libbpf_version_string()));
  InitObject(env, exports);
  InitProgram(env, exports);
  InitMap(env, exports);
  InitReaders(env, exports);
  InitFeatures(env, exports);
  InitStats(env, exports);
  InitSockets(env, exports);
  InitMemory(env, exports);
  return exports;
}

}  // namespace tb

static Napi::Object InitModule(Napi::Env env, Napi::Object exports) { return tb::Init(env, exports); }

NODE_API_MODULE(tracer_bpf_loader, InitModule)
