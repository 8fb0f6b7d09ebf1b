// Socket calls Node's net/dgram modules do not offer, on a file descriptor the
// caller owns: TCP_INFO, the queue ioctls, an integer setsockopt, shutdown,
// send/sendto/recv with flags, and plain non-blocking TCP and UDP sockets
// (socket, bind, listen, accept, connect, getsockname). Synchronous and never
// blocking: @tracer-bpf/offsetguess drives known socket states with them.
#include <arpa/inet.h>
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

// socket_setsockopt(fd, level, name, value): an int option, or a string one
// (its bytes, e.g. TCP_CONGESTION).
static Napi::Value SetOpt(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = GetFd(info[0], Op::SocketSetOpt);
  int level = GetInt(info[1], "the level", Op::SocketSetOpt);
  int name = GetInt(info[2], "the option", Op::SocketSetOpt);
  int r;
  if (info[3].IsString()) {
    std::string v = info[3].As<Napi::String>().Utf8Value();
    r = setsockopt(fd, level, name, v.data(), static_cast<socklen_t>(v.size()));
  } else {
    int value = GetInt(info[3], "the value", Op::SocketSetOpt);
    r = setsockopt(fd, level, name, &value, sizeof(value));
  }
  if (r != 0) ThrowErrno(env, errno, Op::SocketSetOpt, Sys("setsockopt"));
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

// An IPv4 or IPv6 literal and a port as a sockaddr; its length.
static socklen_t ParseAddr(Napi::Env env, const std::string& addr, int port, sockaddr_storage* ss, Op op) {
  if (port < 0 || port > 65535) ThrowCode(env, "ERR_BPF_ARG", op, "the port must be 0 to 65535");
  auto* s4 = reinterpret_cast<sockaddr_in*>(ss);
  auto* s6 = reinterpret_cast<sockaddr_in6*>(ss);
  if (inet_pton(AF_INET, addr.c_str(), &s4->sin_addr) == 1) {
    s4->sin_family = AF_INET;
    s4->sin_port = htons(static_cast<uint16_t>(port));
    return sizeof(*s4);
  }
  if (inet_pton(AF_INET6, addr.c_str(), &s6->sin6_addr) == 1) {
    s6->sin6_family = AF_INET6;
    s6->sin6_port = htons(static_cast<uint16_t>(port));
    return sizeof(*s6);
  }
  ThrowCode(env, "ERR_BPF_ARG", op, "the address must be an IPv4 or IPv6 literal, not " + addr);
}

// socket_tcp(family) / socket_udp(family) -> fd: a new TCP or UDP socket (family 4 or 6),
// non-blocking, close-on-exec. The caller closes it (fs.closeSync).
static Napi::Value NewSocket(const Napi::CallbackInfo& info, int type) {
  Napi::Env env = info.Env();
  int family = GetInt(info[0], "the family", Op::SocketSetOpt);
  if (family != 4 && family != 6) ThrowCode(env, "ERR_BPF_ARG", Op::SocketSetOpt, "the family must be 4 or 6");
  int fd = socket(family == 4 ? AF_INET : AF_INET6, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) ThrowErrno(env, errno, Op::SocketSetOpt, Sys("socket"));
  return Napi::Number::New(env, fd);
}
static Napi::Value Tcp(const Napi::CallbackInfo& info) { return NewSocket(info, SOCK_STREAM); }
static Napi::Value Udp(const Napi::CallbackInfo& info) { return NewSocket(info, SOCK_DGRAM); }

// socket_listen(fd, backlog): listen(2).
static Napi::Value Listen(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = GetFd(info[0], Op::SocketSetOpt);
  int backlog = GetInt(info[1], "the backlog", Op::SocketSetOpt);
  if (listen(fd, backlog) != 0) ThrowErrno(env, errno, Op::SocketSetOpt, Sys("listen"));
  return env.Undefined();
}

// socket_accept(fd) -> fd, or -1 when no connection is waiting (EAGAIN): accept4(2),
// the new socket non-blocking and close-on-exec.
static Napi::Value Accept(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = GetFd(info[0], Op::SocketSetOpt);
  int a = accept4(fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (a < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return Napi::Number::New(env, -1);
  if (a < 0) ThrowErrno(env, errno, Op::SocketSetOpt, Sys("accept4"));
  return Napi::Number::New(env, a);
}

// socket_bind(fd, address, port) / socket_connect(fd, address, port) (a
// non-blocking connect in progress, EINPROGRESS, is not an error).
static Napi::Value BindOrConnect(const Napi::CallbackInfo& info, bool connect_) {
  Napi::Env env = info.Env();
  int fd = GetFd(info[0], Op::SocketSetOpt);
  std::string addr = GetString(info[1], "the address", Op::SocketSetOpt);
  int port = GetInt(info[2], "the port", Op::SocketSetOpt);
  sockaddr_storage ss{};
  socklen_t len = ParseAddr(env, addr, port, &ss, Op::SocketSetOpt);
  int r = connect_ ? connect(fd, reinterpret_cast<sockaddr*>(&ss), len) : bind(fd, reinterpret_cast<sockaddr*>(&ss), len);
  if (r != 0 && !(connect_ && errno == EINPROGRESS)) ThrowErrno(env, errno, Op::SocketSetOpt, Sys(connect_ ? "connect" : "bind"));
  return env.Undefined();
}
static Napi::Value Bind(const Napi::CallbackInfo& info) { return BindOrConnect(info, false); }
static Napi::Value Connect(const Napi::CallbackInfo& info) { return BindOrConnect(info, true); }

// socket_name(fd) -> { address, port }: getsockname(2).
static Napi::Value Name(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = GetFd(info[0], Op::SocketSetOpt);
  sockaddr_storage ss{};
  socklen_t len = sizeof(ss);
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) ThrowErrno(env, errno, Op::SocketSetOpt, Sys("getsockname"));
  char buf[INET6_ADDRSTRLEN] = {0};
  int port;
  if (ss.ss_family == AF_INET) {
    auto* s4 = reinterpret_cast<sockaddr_in*>(&ss);
    inet_ntop(AF_INET, &s4->sin_addr, buf, sizeof(buf));
    port = ntohs(s4->sin_port);
  } else {
    auto* s6 = reinterpret_cast<sockaddr_in6*>(&ss);
    inet_ntop(AF_INET6, &s6->sin6_addr, buf, sizeof(buf));
    port = ntohs(s6->sin6_port);
  }
  Napi::Object o = Napi::Object::New(env);
  o.Set("address", buf);
  o.Set("port", port);
  return o;
}

// socket_sendto(fd, bytes, flags, address, port) -> bytes sent (MSG_DONTWAIT | MSG_NOSIGNAL
// added); `address` an IPv4 or IPv6 literal (the family follows from it).
static Napi::Value SendTo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = GetFd(info[0], Op::SocketSend);
  Bytes b = GetBytes(info[1], "the data", Op::SocketSend);
  int flags = GetInt(info[2], "the flags", Op::SocketSend);
  std::string addr = GetString(info[3], "the address", Op::SocketSend);
  int port = GetInt(info[4], "the port", Op::SocketSend);
  if (port < 0 || port > 65535) ThrowCode(env, "ERR_BPF_ARG", Op::SocketSend, "the port must be 0 to 65535");
  sockaddr_storage ss{};
  socklen_t len = ParseAddr(env, addr, port, &ss, Op::SocketSend);
  ssize_t n = sendto(fd, b.data, b.len, flags | MSG_DONTWAIT | MSG_NOSIGNAL, reinterpret_cast<sockaddr*>(&ss), len);
  if (n < 0) ThrowErrno(env, errno, Op::SocketSend, Sys("sendto"));
  return Napi::Number::New(env, static_cast<double>(n));
}

// socket_shutdown(fd, how): shutdown(2), SHUT_RD 0, SHUT_WR 1, SHUT_RDWR 2.
static Napi::Value Shutdown(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = GetFd(info[0], Op::SocketSetOpt);
  int how = GetInt(info[1], "how", Op::SocketSetOpt);
  if (shutdown(fd, how) != 0) ThrowErrno(env, errno, Op::SocketSetOpt, Sys("shutdown"));
  return env.Undefined();
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
  exports.Set("socket_sendto", Napi::Function::New(env, SendTo));
  exports.Set("socket_shutdown", Napi::Function::New(env, Shutdown));
  exports.Set("socket_tcp", Napi::Function::New(env, Tcp));
  exports.Set("socket_bind", Napi::Function::New(env, Bind));
  exports.Set("socket_connect", Napi::Function::New(env, Connect));
  exports.Set("socket_name", Napi::Function::New(env, Name));
  exports.Set("socket_udp", Napi::Function::New(env, Udp));
  exports.Set("socket_listen", Napi::Function::New(env, Listen));
  exports.Set("socket_accept", Napi::Function::New(env, Accept));
}

}  // namespace tb
