// Socket calls Node's net and dgram modules do not offer, on a descriptor the
// caller owns (a Node socket's fd, e.g. `socket._handle.fd`, or one of the
// plain sockets made here). Synchronous and never blocking: a call that would
// block fails with EAGAIN (accept returns -1). Errors are
// BpfErrors with the errno and the system call (getsockopt, ioctl, ...).
import { native } from './binding.js';

/** struct tcp_info of a TCP socket (getsockopt TCP_INFO), as many bytes as this kernel fills. */
export function tcpInfo(fd: number): Buffer {
  return native.socket_tcp_info(fd);
}

/**
 * A socket queue ioctl: 'inq' (SIOCINQ: bytes received and not read; TCP:
 * rcv_nxt - copied_seq), 'outq' (SIOCOUTQ: TCP bytes written and not acked,
 * write_seq - snd_una), 'outqnsd' (SIOCOUTQNSD: TCP bytes written and not
 * sent, write_seq - snd_nxt).
 */
export type SocketQueue = 'inq' | 'outq' | 'outqnsd';
export function socketQueue(fd: number, which: SocketQueue): number {
  return native.socket_ioctl(fd, which);
}

/** setsockopt(fd, level, name, &int, sizeof(int)), or a string option's bytes (e.g. TCP_CONGESTION). */
export function setSocketOption(fd: number, level: number, name: number, value: number | string): void {
  native.socket_setsockopt(fd, level, name, value);
}

/** send(2) with flags (MSG_DONTWAIT and MSG_NOSIGNAL added): the bytes sent. */
export function socketSend(fd: number, data: Uint8Array, flags = 0): number {
  return native.socket_send(fd, data, flags);
}

/** recv(2) with flags (MSG_DONTWAIT added) into `buffer`: the bytes received. */
export function socketRecv(fd: number, buffer: Uint8Array, flags = 0): number {
  return native.socket_recv(fd, buffer, flags);
}

/** sendto(2) to an IPv4 or IPv6 literal and port, with flags (MSG_DONTWAIT and MSG_NOSIGNAL added): the bytes sent. */
export function socketSendTo(fd: number, data: Uint8Array, address: string, port: number, flags = 0): number {
  return native.socket_sendto(fd, data, flags, address, port);
}

/** shutdown(2): 'read', 'write' or 'both'. */
export function socketShutdown(fd: number, how: 'read' | 'write' | 'both'): void {
  native.socket_shutdown(fd, how === 'read' ? 0 : how === 'write' ? 1 : 2);
}

/** A new non-blocking TCP socket (close it with fs.closeSync): for states Node's net module cannot set up, e.g. TCP_REPAIR before connect. */
export function tcpSocket(family: 4 | 6): number {
  return native.socket_tcp(family);
}

/** A new non-blocking UDP socket (close it with fs.closeSync). */
export function udpSocket(family: 4 | 6): number {
  return native.socket_udp(family);
}

/** listen(2). */
export function socketListen(fd: number, backlog: number): void {
  native.socket_listen(fd, backlog);
}

/** accept4(2) of a non-blocking listener: the new socket (non-blocking; close it with fs.closeSync), or -1 when none is waiting. */
export function socketAccept(fd: number): number {
  return native.socket_accept(fd);
}

/** bind(2) to an address literal and port. */
export function socketBind(fd: number, address: string, port: number): void {
  native.socket_bind(fd, address, port);
}

/** connect(2) to an address literal and port (non-blocking: in progress is not an error). */
export function socketConnect(fd: number, address: string, port: number): void {
  native.socket_connect(fd, address, port);
}

/** getsockname(2). */
export function socketName(fd: number): { address: string; port: number } {
  return native.socket_name(fd);
}
