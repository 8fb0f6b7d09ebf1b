// Socket calls Node's net/dgram modules do not offer, on a file descriptor the
// caller owns (a Node socket's fd): TCP_INFO, the queue ioctls, an integer
// setsockopt, send/recv with flags. Synchronous and never blocking
// (MSG_DONTWAIT): @tracer-bpf/offsetguess drives known socket states with them.
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <linux/sockios.h>

#include <cerrno>
#include <cstring>

#include "common.h"

namespace tb {

static int GetFd(const Napi::Value& v, Op op) {
  if (!v.IsNumber()) ThrowCode(v.Env(), "ERR_BPF_ARG", op, "the file descriptor must be a number");
  int fd = v.As<Napi::Number>().Int32Value();
  if (fd < 0) ThrowCode(v.Env(), "ERR_BPF_ARG", op, "the file descriptor must not be negative");
  return fd;
}

static int GetInt(const Napi::Value& v, const char* what, Op op) {
  if (!v.IsNumber()) ThrowCode(v.Env(), "ERR_BPF_ARG", op, std::string(what) + " must be a number");
  return v.As<Napi::Number>().Int32Value();
}

static ErrCtx Sys(const char* name) {
  ErrCtx c;
  c.syscall = name;
  return c;
}

// socket_tcp_info(fd) -> Buffer: struct tcp_info as this kernel fills it (its length says how much).
static Napi::Value TcpInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = GetFd(info[0], Op::SocketTcpInfo);
  uint8_t buf[512];
  memset(buf, 0, sizeof(buf));
  socklen_t len = sizeof(buf);
  if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, buf, &len) != 0) ThrowErrno(env, errno, Op::SocketTcpInfo, Sys("getsockopt"));
  return Napi::Buffer<uint8_t>::Copy(env, buf, len);
}

// socket_ioctl(fd, name) -> number: SIOCINQ ('inq'), SIOCOUTQ ('outq'), SIOCOUTQNSD ('outqnsd').
static Napi::Value Ioctl(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = GetFd(info[0], Op::SocketIoctl);
  std::string name = GetString(info[1], "the ioctl", Op::SocketIoctl);
  unsigned long req;
  if (name == "inq") req = SIOCINQ;
  else if (name == "outq") req = SIOCOUTQ;
  else if (name == "outqnsd") req = SIOCOUTQNSD;
  else ThrowCode(env, "ERR_BPF_ARG", Op::SocketIoctl, "the ioctl must be inq, outq or outqnsd, not " + name);
  int v = 0;
  if (ioctl(fd, req, &v) != 0) ThrowErrno(env, errno, Op::SocketIoctl, Sys("ioctl"));
  return Napi::Number::New(env, v);
}

// socket_setsockopt(fd, level, name, value): an int option.
static Napi::Value SetOpt(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = GetFd(info[0], Op::SocketSetOpt);
  int level = GetInt(info[1], "the level", Op::SocketSetOpt);
  int name = GetInt(info[2], "the option", Op::SocketSetOpt);
  int value = GetInt(info[3], "the value", Op::SocketSetOpt);
  if (setsockopt(fd, level, name, &value, sizeof(value)) != 0) ThrowErrno(env, errno, Op::SocketSetOpt, Sys("setsockopt"));
  return env.Undefined();
}

// socket_send(fd, bytes, flags) -> bytes sent (MSG_DONTWAIT | MSG_NOSIGNAL added).
static Napi::Value Send(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = GetFd(info[0], Op::SocketSend);
  Bytes b = GetBytes(info[1], "the data", Op::SocketSend);
  int flags = GetInt(info[2], "the flags", Op::SocketSend);
  ssize_t n = send(fd, b.data, b.len, flags | MSG_DONTWAIT | MSG_NOSIGNAL);
  if (n < 0) ThrowErrno(env, errno, Op::SocketSend, Sys("send"));
  return Napi::Number::New(env, static_cast<double>(n));
}

// socket_recv(fd, buffer, flags) -> bytes received (MSG_DONTWAIT added).
static Napi::Value Recv(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = GetFd(info[0], Op::SocketRecv);
  Bytes b = GetBytes(info[1], "the buffer", Op::SocketRecv);
  int flags = GetInt(info[2], "the flags", Op::SocketRecv);
  ssize_t n = recv(fd, b.data, b.len, flags | MSG_DONTWAIT);
  if (n < 0) ThrowErrno(env, errno, Op::SocketRecv, Sys("recv"));
  return Napi::Number::New(env, static_cast<double>(n));
}

void InitSockets(Napi::Env env, Napi::Object exports) {
  exports.Set("socket_tcp_info", Napi::Function::New(env, TcpInfo));
  exports.Set("socket_ioctl", Napi::Function::New(env, Ioctl));
  exports.Set("socket_setsockopt", Napi::Function::New(env, SetOpt));
  exports.Set("socket_send", Napi::Function::New(env, Send));
  exports.Set("socket_recv", Napi::Function::New(env, Recv));
}

}  // namespace tb
