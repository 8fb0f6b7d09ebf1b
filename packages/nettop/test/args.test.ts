import { describe, expect, it } from 'vitest';
import { parseCli, parsePrometheusAddress } from '../src/args.js';
import { CannotTraceError, classifyError, EXIT, missingPrivilege, UsageError } from '../src/exit-codes.js';
import { loadOffsets } from '../src/offsets.js';

describe('parseCli', () => {
  it('has the documented defaults', () => {
    const o = parseCli([]);
    expect(o).toMatchObject({ command: 'top', intervalMs: 5000, once: false, json: false, prometheus: undefined, backend: 'auto', offsets: 'auto', filter: {}, maxConnections: undefined });
  });

  it('reads every option', () => {
    const o = parseCli(['--once', '--json', '-i', '0.5', '--proto', 'udp', '--port', '53', '--pid', '7', '--netns', '4026531840', '--backend', 'tracepoint', '--offsets', 'btf', '-v']);
    expect(o).toMatchObject({ once: true, json: true, intervalMs: 500, backend: 'tracepoint', offsets: 'btf', verbose: true, filter: { protocol: 'udp', port: 53, pid: 7, netns: 4026531840 } });
    expect(parseCli(['doctor']).command).toBe('doctor');
    expect(parseCli(['--help']).command).toBe('help');
    expect(parseCli(['--prometheus', '9100', '--table']).prometheus).toEqual({ host: undefined, port: 9100 });
    expect(parseCli(['--max-connections', '4096']).maxConnections).toBe(4096);
  });

  it.each([
    [['--interval', '0'], /--interval/],
    [['--interval', 'x'], /--interval/],
    [['--proto', 'icmp'], /--proto/],
    [['--port', '70000'], /--port/],
    [['--pid', '-1'], /--pid|argument/],
    [['--backend', 'bpftrace'], /--backend/],
    [['--bogus'], /Unknown option/],
    [['top'], /unexpected argument "top"/],
    [['--prometheus', '9100', '--once'], /--once/],
    [['--table'], /--table/],
    [['--max-connections', '0'], /--max-connections: expected an integer from 1 to 16777216/],
  ])('refuses %j', (argv, message) => {
    expect(() => parseCli(argv)).toThrow(UsageError);
    expect(() => parseCli(argv)).toThrow(message);
  });
});

describe('parsePrometheusAddress', () => {
  it.each([
    ['9100', { host: undefined, port: 9100 }],
    [':9100', { host: undefined, port: 9100 }],
    ['127.0.0.1:0', { host: '127.0.0.1', port: 0 }],
    ['[::1]:9100', { host: '::1', port: 9100 }],
    ['localhost:80', { host: 'localhost', port: 80 }],
  ])('%s', (s, want) => expect(parsePrometheusAddress(s)).toEqual(want));

  it.each(['', 'x', '::1:9100', '1.2.3.4:99999', '9100:'])('refuses "%s"', (s) => expect(() => parsePrometheusAddress(s)).toThrow(UsageError));
});

describe('exit codes', () => {
  it('classifies failures', () => {
    expect(classifyError(new UsageError('bad'))).toEqual({ code: EXIT.USAGE, message: 'bad' });
    expect(classifyError(new CannotTraceError('no'))).toEqual({ code: EXIT.CANNOT_TRACE, message: 'no' });
    expect(classifyError(Object.assign(new Error('offsets: no BTF\nmore'), { name: 'TracerError', code: 'ERR_NO_BTF' }))).toEqual({ code: EXIT.CANNOT_TRACE, message: 'offsets: no BTF' });
    expect(classifyError(Object.assign(new Error('backend: x'), { name: 'TracerError', code: 'ERR_TRACER_OPTION' })).code).toBe(EXIT.USAGE);
    expect(classifyError(new Error('boom')).code).toBe(EXIT.RUNTIME);
    expect(classifyError(Object.assign(new Error('load: EPERM'), { name: 'BpfPermissionError', code: 'EPERM' })).code).toBe(EXIT.CANNOT_TRACE);
  });

  it('names the missing privilege', () => {
    expect(missingPrivilege({ sysAdmin: false, bpf: false, perfmon: true, tracing: false, uid: 1000 })).toBe('tracing needs root or CAP_BPF+CAP_PERFMON (uid 1000 lacks CAP_BPF)');
    expect(missingPrivilege({ sysAdmin: true, bpf: false, perfmon: false, tracing: true, uid: 0 })).toBeUndefined();
  });
});

describe('loadOffsets', () => {
  it('passes auto and btf, reads a JSON object from a file', () => {
    expect(loadOffsets('auto')).toBe('auto');
    expect(loadOffsets('btf')).toBe('btf');
    expect(loadOffsets('f.json', () => '{"skcFamily":16}')).toEqual({ skcFamily: 16 });
    expect(() => loadOffsets('f.json', () => '[1]')).toThrow(/JSON object/);
    expect(() => loadOffsets('f.json', () => 'nope')).toThrow(/not JSON/);
    expect(() => loadOffsets('/nonexistent/offsets.json')).toThrow(/cannot read .*ENOENT/);
  });
});
