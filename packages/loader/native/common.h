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

// ---- ops.h: the operation ids errors and probe results carry (the TS side
// maps each id to its words and its error class: src/operations.ts).
#define TB_OPS(X)                                                              \
  X(OpenObject, "open_object") X(LoadObject, "load_object")                    \
  X(ObjectInfo, "object_info") X(SetGlobal, "set_global")                      \
  X(SetAutoload, "set_autoload") X(SetAttachTarget, "set_attach_target")       \
  X(ProgramFd, "program_fd") X(ProgramInfo, "program_info")                    \
  X(Attach, "attach") X(AttachKprobe, "attach_kprobe")                         \
  X(AttachKretprobe, "attach_kretprobe")                                       \
  X(AttachKprobeTracefs, "attach_kprobe_tracefs")                              \
  X(AttachKretprobeTracefs, "attach_kretprobe_tracefs")                        \
  X(AttachTracepoint, "attach_tracepoint")                                     \
  X(AttachRawTracepoint, "attach_raw_tracepoint") X(AttachTrace, "attach_trace") \
  X(TestRun, "test_run") X(LinkInfo, "link_info") X(EnableStats, "enable_stats") \
  X(MapSetMaxEntries, "map_set_max_entries")                                   \
  X(MapSetAutocreate, "map_set_autocreate")                                    \
  X(MapSetFlags, "map_set_flags")                                              \
  X(MapSetKeySize, "map_set_key_size") X(MapSetValueSize, "map_set_value_size") \
  X(MapInfo, "map_info") X(MapLookup, "map_lookup") X(MapUpdate, "map_update") \
  X(MapDelete, "map_delete") X(MapNextKey, "map_next_key")                     \
  X(MapLookupBatch, "map_lookup_batch")                                        \
  X(MapUpdateBatch, "map_update_batch") X(RingOpen, "ring_open")               \
  X(PerfOpen, "perf_open") X(ReaderConsume, "reader_consume")                  \
  X(ReaderPoll, "reader_poll") X(Handle, "handle") X(LinkIds, "link_ids")      \
  X(ProbeKernelBtf, "probe_kernel_btf") X(ProbeMapCreate, "probe_map_create")  \
  X(ProbeBatchOps, "probe_batch_ops") X(ProbeProgLoad, "probe_prog_load")      \
  X(ProbeKprobePmu, "probe_kprobe_pmu")                                        \
  X(ProbeKprobeEvents, "probe_kprobe_events")                                  \
  X(ProbeFindBtfId, "probe_find_btf_id") X(ProbeAttach, "probe_attach")        \
  X(ProbeTracepointId, "probe_tracepoint_id")                                 \
  X(SocketTcpInfo, "socket_tcp_info") X(SocketIoctl, "socket_ioctl")          \
  X(SocketSetOpt, "socket_setsockopt") X(SocketSend, "socket_send")          \
  X(SocketRecv, "socket_recv") X(PagesAlloc, "pages_alloc")                  \
  X(PagesRelease, "pages_release") X(FileMapRo, "file_map_ro")

enum class Op {
#define TB_OP_ENUM(name, id) name,
  TB_OPS(TB_OP_ENUM)
#undef TB_OP_ENUM
};
const char* OpId(Op op);

// ---- syscalls.cc: the last failed bpf(2) / perf_event_open(2) of this
// thread, recorded by a wrapper around syscall() (libbpf is linked with
// --wrap=syscall), so that errors name the system call that failed.
struct FailedSyscall {
  std::string name;  // "BPF_PROG_LOAD", "perf_event_open", ... ("" if none)
  int err = 0;
};
void ResetFailedSyscall();
FailedSyscall LastFailedSyscall();

// ---- log.cc: libbpf's print callback is process-wide; each operation
// captures what libbpf prints on its own thread into its own buffer, and the
// system call that failed during it.
class LogCapture {
 public:
  LogCapture();
  ~LogCapture();
  LogCapture(const LogCapture&) = delete;
  LogCapture& operator=(const LogCapture&) = delete;
  std::string Take();
  // The system call that failed during this capture with `err` (either sign), or none.
  FailedSyscall Failed(int err) const;

 private:
  std::string buf_;
  std::string* prev_;
};
void InstallPrint();
void SetStderrLevel(int level);  // -1: nothing reaches stderr (default)

// ---- errors.cc: the one place a failure becomes a JS error. The addon sends
// the operation id, the errno number (positive), the failed syscall and
// libbpf's text for the errno; TS names the code and picks the class.
struct ErrCtx {
  std::string object;
  std::string program;
  std::string map;
  std::string target;
  std::string syscall;
};
Napi::Value MakeErrnoError(Napi::Env env, int err, Op op, const ErrCtx& ctx, const std::string& log = "");
[[noreturn]] void ThrowErrno(Napi::Env env, int err, Op op, const ErrCtx& ctx = {}, const std::string& log = "");
// Errno of a failed libbpf call: its return value, else errno, else EINVAL.
int LibbpfErr(long ret);
// A usage error with a stable code (ERR_BPF_CLOSED, ERR_BPF_ARG, ...), no errno.
Napi::Value MakeCodeError(Napi::Env env, const char* code, Op op, const std::string& message, const ErrCtx& ctx = {});
[[noreturn]] void ThrowCode(Napi::Env env, const char* code, Op op, const std::string& message,
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
void FinalizeReader(Handle& h);  // readers.cc: a reader handle was garbage-collected
Handle* TryUnwrap(const Napi::Value& v);  // nullptr when v is not one of our handles
// Unwrap + check that the owning object is open (and loaded, when asked).
Handle& Open(const Napi::Value& v, Kind kind, bool need_loaded, Op op);
ErrCtx CtxOf(const Handle& h);

// Buffer helpers: (ptr, len) of a Buffer/TypedArray argument, or nullptr for null/undefined.
struct Bytes {
  uint8_t* data = nullptr;
  size_t len = 0;
};
Bytes GetBytes(const Napi::Value& v, const char* what, Op op, bool optional = false);
// Typed arguments (the TS layer validates first; these keep a wrong type from
// ever reaching libbpf): a uint32, a boolean, a string, a function.
uint32_t GetU32(const Napi::Value& v, const char* what, Op op);
bool GetBool(const Napi::Value& v, const char* what, Op op);
std::string GetString(const Napi::Value& v, const char* what, Op op);

// map.cc: the kernel's map type rules, once.
bool IsPerCpu(bpf_map* m);
size_t ValueBytes(bpf_map* m);  // bytes of one value in a syscall (per-CPU: a slot per possible CPU)
bool HasBatchOps(bpf_map* m);

// Module parts
void InitObject(Napi::Env env, Napi::Object exports);
void InitProgram(Napi::Env env, Napi::Object exports);
void InitMap(Napi::Env env, Napi::Object exports);
void InitReaders(Napi::Env env, Napi::Object exports);
void InitFeatures(Napi::Env env, Napi::Object exports);
void InitStats(Napi::Env env, Napi::Object exports);
void InitSockets(Napi::Env env, Napi::Object exports);
void InitMemory(Napi::Env env, Napi::Object exports);

}  // namespace tb
