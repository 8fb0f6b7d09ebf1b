// Shared declarations of the addon: handles, error helper, log capture.
// The C++ layer is thin and mechanical: it validates handles and buffer sizes,
// calls libbpf and turns failures into JS errors; all policy lives in TS.
#pragma once

#include <napi.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include <memory>
#include <string>
#include <vector>

namespace tb {

// ---- log.cc: libbpf's print callback is process-wide; each operation
// captures what libbpf prints on its own thread into its own buffer.
class LogCapture {
 public:
  LogCapture();
  ~LogCapture();
  LogCapture(const LogCapture&) = delete;
  LogCapture& operator=(const LogCapture&) = delete;
  std::string Take();

 private:
  std::string buf_;
  std::string* prev_;
};
void InstallPrint();
void SetStderrLevel(int level);  // -1: nothing reaches stderr (default)

// ---- errors.cc: the one place a failure becomes a JS error.
struct ErrCtx {
  std::string object;
  std::string program;
  std::string map;
  std::string target;
};
const char* ErrnoName(int err);
Napi::Value MakeErrnoError(Napi::Env env, int err, const std::string& op, const ErrCtx& ctx,
                           const std::string& log);
[[noreturn]] void ThrowErrno(Napi::Env env, int err, const std::string& op, const ErrCtx& ctx = {},
                             const std::string& log = "");
// A usage error with a stable code (ERR_BPF_CLOSED, ERR_BPF_ARG, ...), no errno.
[[noreturn]] void ThrowCode(Napi::Env env, const char* code, const std::string& message,
                            const ErrCtx& ctx = {});
void SetErrorFactory(Napi::Env env, Napi::Function fn);

// ---- handles
struct LinkState {
  bpf_link* link = nullptr;
  std::string kind;          // "kprobe", "tracepoint", ...
  std::string target;        // function or tracepoint name
  std::string legacy_event;  // tracefs kprobe event to remove on close ("" if none)
  std::string tracefs;       // tracefs root used for legacy_event
  bool closed = false;
  void Close();
};

struct ObjectState {
  bpf_object* obj = nullptr;
  std::string name;
  bool loaded = false;
  bool busy = false;           // a load runs on the thread pool
  bool close_pending = false;  // close() was called during the load
  bool closed = false;
  std::vector<std::shared_ptr<LinkState>> links;
  void Close();
  ~ObjectState() { Close(); }
};

enum class Kind : uint32_t { Object = 1, Program, Map, Link, Ring, Perf };

// What every External<Handle> holds. The object state is shared so that a
// program, map or link handle never outlives the bpf_object it points into.
struct Handle {
  Kind kind;
  std::shared_ptr<ObjectState> obj;
  bpf_program* prog = nullptr;
  bpf_map* map = nullptr;
  std::shared_ptr<LinkState> link;
  std::shared_ptr<void> reader;  // readers.cc state
  // Names cached at creation: after close the libbpf structs are freed.
  std::string prog_name;
  std::string map_name;
};

Napi::External<Handle> Wrap(Napi::Env env, Handle h);
Handle& Unwrap(const Napi::Value& v, Kind kind);
Handle* TryUnwrap(const Napi::Value& v);  // nullptr when v is not one of our handles
// Unwrap + check that the owning object is open (and loaded, when asked).
Handle& Open(const Napi::Value& v, Kind kind, bool need_loaded);
ErrCtx CtxOf(const Handle& h);

// Buffer helpers: (ptr, len) of a Buffer/TypedArray argument, or nullptr for null/undefined.
struct Bytes {
  uint8_t* data = nullptr;
  size_t len = 0;
};
Bytes GetBytes(const Napi::Value& v, const char* what, bool optional = false);

// Module parts
void InitObject(Napi::Env env, Napi::Object exports);
void InitProgram(Napi::Env env, Napi::Object exports);
void InitMap(Napi::Env env, Napi::Object exports);
void InitReaders(Napi::Env env, Napi::Object exports);
void InitFeatures(Napi::Env env, Napi::Object exports);

}  // namespace tb
