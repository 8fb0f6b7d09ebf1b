// The guest the runner boots (run inside it with `node tools/vmtest/run.mjs --self-test`):
// what the kernel suites rely on must be there.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const inGuest = process.env.TRACER_BPF_KERNEL_NAME !== undefined && existsSync('/vmtest');
const run = (cmd, args, opts = {}) => spawnSync(cmd, args, { encoding: 'utf8', ...opts });

describe.runIf(inGuest)('vmtest guest', () => {
  it('has the CPUs it was booted with (vmtest.cpus=N), the kernel config and its name in the environment', () => {
    const booted = Number(/(?:^|\s)vmtest\.cpus=(\d+)/.exec(readFileSync('/proc/cmdline', 'utf8'))?.[1]);
    expect(booted).toBeGreaterThan(0);
    expect(cpus().length).toBe(booted);
    const config = process.env.TRACER_BPF_KERNEL_CONFIG;
    expect(config && readFileSync(config, 'utf8')).toMatch(/^CONFIG_BPF_SYSCALL=y$/m);
  });

  it('mounts proc, sysfs, devtmpfs, tracefs, bpffs; /tmp is the RAM-backed root, sticky and writable by all', () => {
    const mounts = readFileSync('/proc/mounts', 'utf8');
    for (const [fs, dir] of [['proc', '/proc'], ['sysfs', '/sys'], ['devtmpfs', '/dev'], ['tracefs', '/sys/kernel/tracing'], ['bpf', '/sys/fs/bpf']])
      expect(mounts).toMatch(new RegExp(`^\\S+ ${dir} ${fs} `, 'm'));
    // init.sh leaves /tmp on the initramfs root (a tmpfs over it would hide a checkout under /tmp).
    expect(mounts).toMatch(/^rootfs \/ rootfs /m);
    expect(statSync('/tmp').mode & 0o7777).toBe(0o1777);
    expect(existsSync('/sys/kernel/tracing/events/sock')).toBe(true);
    expect(existsSync('/sys/kernel/btf/vmlinux')).toBe(true);
  });

  it('has loopback up for IPv4 and IPv6', async () => {
    for (const host of ['127.0.0.1', '::1']) {
      const server = net.createServer((s) => s.end('ok'));
      await new Promise((r) => server.listen(0, host, r));
      const got = await new Promise((resolve, reject) => {
        const c = net.connect({ host, port: server.address().port });
        let data = '';
        c.on('data', (d) => (data += d));
        c.on('end', () => resolve(data));
        c.on('error', reject);
      });
      server.close();
      expect(got).toBe('ok');
    }
  });

  it('runs the tools the tests use', () => {
    expect(run('ip', ['-br', 'addr', 'show', 'lo']).stdout).toMatch(/UNKNOWN|UP/);
    expect(run('ss', ['-tln']).status).toBe(0);
    expect(run('tc', ['qdisc', 'show', 'dev', 'lo']).status).toBe(0);
    expect(run('bpftool', ['prog', 'list']).status).toBe(0);
    expect(run('unshare', ['--net', 'ip', 'link', 'show', 'lo']).stdout).toMatch(/lo:/);
    expect(run('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'id', '-u']).stdout.trim()).toBe('65534');
    expect(run('mount', ['-t', 'tmpfs', 'x', mkdtempSync(join(tmpdir(), 'm-'))]).status).toBe(0);
    expect(run('ip', ['link', 'add', 'vmt0', 'type', 'veth', 'peer', 'name', 'vmt1']).status).toBe(0);
    expect(run('ip', ['link', 'del', 'vmt0']).status).toBe(0);
  });

  it('lets uid 65534 run node and write to /tmp', () => {
    const dir = mkdtempSync(join(tmpdir(), 'u-'));
    writeFileSync(join(dir, 'x'), '');
    const r = run(process.execPath, ['-e', 'require("fs").writeFileSync(require("os").tmpdir() + "/nobody-" + process.pid, ""); console.log(process.getuid())'], { uid: 65534, gid: 65534 });
    rmSync(dir, { recursive: true });
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('65534');
  });
});
