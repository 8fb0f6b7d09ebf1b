// Which legacy probe events a start removes: those named by this loader or by
// libbpf's tracefs fallback with the pid of a process that is gone; never
// another tool's, never a live process's (the removal itself runs for real in
// packages/tracer/test/exit.e2e.test.ts).
import { describe, expect, it } from 'vitest';
import { legacyEventName, staleProbeEvents } from '../src/index.js';

describe('staleProbeEvents', () => {
  it('picks the events of dead pids named as the loader and libbpf name them, from kprobe_events and dynamic_events text', () => {
    expect(legacyEventName(4242, 3, 'tcp_v4_connect.cold')).toBe('tracer_bpf_4242_3_tcp_v4_connect_cold');
    const text = [
      `r128:kprobes/${legacyEventName(111, 1, 'tcp_v4_connect')} tcp_v4_connect`,
      `p:kprobes/${legacyEventName(111, 2, 'inet_bind')} inet_bind+0`,
      'p:kprobes/libbpf_222_tcp_sendmsg_0x0_0 tcp_sendmsg',
      'r:kretprobes/libbpf_333_inet_csk_accept_0x0_1 inet_csk_accept',
      `p:kprobes/${legacyEventName(444, 1, 'tcp_push')} tcp_push`, // alive
      `p:kprobes/${legacyEventName(process.pid, 1, 'tcp_push')} tcp_push`, // this process
      'p:kprobes/myprobe do_sys_open', // another tool's
      'p:uprobes/p_bash_0x4a5 /bin/bash:0x00000000000004a5',
      's:synthetic/wakeup_latency u64 lat', // another kind of dynamic event
      '',
    ].join('\n');
    const alive = (pid: number) => pid === 444;
    expect(staleProbeEvents(text, alive)).toEqual([
      { event: 'kprobes/tracer_bpf_111_1_tcp_v4_connect', pid: 111 },
      { event: 'kprobes/tracer_bpf_111_2_inet_bind', pid: 111 },
      { event: 'kprobes/libbpf_222_tcp_sendmsg_0x0_0', pid: 222 },
      { event: 'kretprobes/libbpf_333_inet_csk_accept_0x0_1', pid: 333 },
    ]);
    expect(staleProbeEvents(text, () => true)).toEqual([]);
    expect(staleProbeEvents('', () => false)).toEqual([]);
  });
});
