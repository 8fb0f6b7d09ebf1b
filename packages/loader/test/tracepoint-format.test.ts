// Parsing tracefs `format` text: no root, no kernel. The layouts below are
// what Debian kernels print (a cloud build and a PREEMPT_RT build of 6.1,
// whose common header is longer: every field moves).
import { describe, expect, it } from 'vitest';
import { BpfArgumentError, parseTracepointFormat } from '../src/index.js';

const CLOUD = `name: inet_sock_set_state
ID: 1432
format:
	field:unsigned short common_type;	offset:0;	size:2;	signed:0;
	field:unsigned char common_flags;	offset:2;	size:1;	signed:0;
	field:unsigned char common_preempt_count;	offset:3;	size:1;	signed:0;
	field:int common_pid;	offset:4;	size:4;	signed:1;

	field:const void * skaddr;	offset:8;	size:8;	signed:0;
	field:int oldstate;	offset:16;	size:4;	signed:1;
	field:int newstate;	offset:20;	size:4;	signed:1;
	field:__u16 sport;	offset:24;	size:2;	signed:0;
	field:__u8 saddr_v6[16];	offset:40;	size:16;	signed:0;
	field:__data_loc char[] name;	offset:56;	size:4;	signed:0;
	field:__u8 daddr[sizeof(struct sockaddr_in6)];	offset:60;	size:28;	signed:0;

print fmt: "family=%s", REC->family
`;

const RT = `name: inet_sock_set_state
ID: 1510
format:
	field:unsigned short common_type;	offset:0;	size:2;	signed:0;
	field:unsigned char common_flags;	offset:2;	size:1;	signed:0;
	field:unsigned char common_preempt_count;	offset:3;	size:1;	signed:0;
	field:int common_pid;	offset:4;	size:4;	signed:1;
	field:unsigned char common_migrate_disable;	offset:8;	size:1;	signed:0;
	field:unsigned char common_preempt_lazy_count;	offset:9;	size:1;	signed:0;

	field:const void * skaddr;	offset:16;	size:8;	signed:0;
	field:int oldstate;	offset:24;	size:4;	signed:1;
	field:int newstate;	offset:28;	size:4;	signed:1;

print fmt: ""
`;

describe('parseTracepointFormat', () => {
  it('reads every field with offset, size, signedness and array length', () => {
    const f = parseTracepointFormat(CLOUD, 'sock', 'inet_sock_set_state');
    expect(f.id).toBe(1432);
    expect(f.fields.map((x) => x.name)).toEqual([
      'common_type', 'common_flags', 'common_preempt_count', 'common_pid',
      'skaddr', 'oldstate', 'newstate', 'sport', 'saddr_v6', 'name', 'daddr',
    ]);
    // 5.10's tcp_probe sizes an array with sizeof(): its length comes from the size.
    expect(f.field('daddr')).toEqual({ name: 'daddr', type: '__u8[28]', offset: 60, size: 28, signed: false, arrayLength: 28, common: false });
    expect(f.field('skaddr')).toEqual({ name: 'skaddr', type: 'const void *', offset: 8, size: 8, signed: false, common: false });
    expect(f.field('oldstate')).toEqual({ name: 'oldstate', type: 'int', offset: 16, size: 4, signed: true, common: false });
    expect(f.field('saddr_v6')).toEqual({ name: 'saddr_v6', type: '__u8[16]', offset: 40, size: 16, signed: false, arrayLength: 16, common: false });
    expect(f.field('name')).toEqual({ name: 'name', type: '__data_loc char[]', offset: 56, size: 4, signed: false, common: false });
    expect(f.field('common_pid')?.common).toBe(true);
    expect(f.field('nope')).toBeUndefined();
  });

  it('follows a longer common header (PREEMPT_RT): the same field sits elsewhere', () => {
    const rt = parseTracepointFormat(RT, 'sock', 'inet_sock_set_state');
    expect(rt.field('skaddr')?.offset).toBe(16);
    expect(rt.field('newstate')?.offset).toBe(28);
    expect(rt.fields.filter((x) => x.common).map((x) => x.name)).toContain('common_preempt_lazy_count');
  });

  it('refuses text that is not a format file, naming the tracepoint', () => {
    let err: unknown;
    try {
      parseTracepointFormat('hello\nworld\n', 'sock', 'x');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(BpfArgumentError);
    expect((err as BpfArgumentError).code).toBe('ERR_BPF_TRACEPOINT_FORMAT');
    expect((err as Error).message).toContain('sock/x');
  });
});
