// Shared by the end-to-end tests: the built CLI as a child process, and real
// loopback traffic whose bytes are known exactly at the socket level.
import { type ChildProcess, execFile, spawn, spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const CLI = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'cli.js');

/** Why the root-only end-to-end tests cannot run here, or undefined. */
export const NOT_ROOT = process.getuid?.() === 0 ? undefined : 'needs root: nettop attaches BPF programs';

/** `cmd` is on PATH. */
export function have(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

export interface Nettop {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves with the first stderr line matching `re` (rejects if the process exits first). */
  waitStderr(re: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
  waitStdout(re: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
  /** Exit code and signal. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Run the built CLI (`node dist/cli.js ...args`, after `wrap`), or `opts.argv` as it is. */
export function nettop(args: string[], opts: { env?: NodeJS.ProcessEnv; wrap?: string[]; argv?: string[] } = {}): Nettop {
  const argv = opts.argv ?? [...(opts.wrap ?? []), process.execPath, CLI, ...args];
  const child = spawn(argv[0]!, argv.slice(1), { env: opts.env ?? { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  const waiters: (() => void)[] = [];
  child.stdout!.on('data', (b: Buffer) => {
    out += b.toString();
    for (const w of waiters) w();
  });
  child.stderr!.on('data', (b: Buffer) => {
    err += b.toString();
    for (const w of waiters) w();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
  let done = false;
  void exited.then(() => {
    done = true;
    for (const w of waiters) w();
  });
  const wait = (get: () => string, re: RegExp, timeoutMs: number) =>
    new Promise<RegExpExecArray>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${re}; stderr: ${err}`)), timeoutMs);
      const check = () => {
        const m = re.exec(get());
        if (m) {
          clearTimeout(timer);
          resolve(m);
        } else if (done) {
          clearTimeout(timer);
          reject(new Error(`nettop exited before ${re}; stderr: ${err}`));
        }
      };
      waiters.push(check);
      check();
    });
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    waitStderr: (re, ms = 15_000) => wait(() => err, re, ms),
    waitStdout: (re, ms = 15_000) => wait(() => out, re, ms),
    exited,
  };
}

export function listen(server: Server | ReturnType<typeof createSocket>, kind: 'tcp' | 'udp' = 'tcp'): Promise<number> {
  return new Promise((resolve) => {
    if (kind === 'udp') {
      const s = server as ReturnType<typeof createSocket>;
      s.bind(0, '127.0.0.1', () => resolve(s.address().port));
    } else {
      const s = server as Server;
      s.listen(0, '127.0.0.1', () => resolve((s.address() as AddressInfo).port));
    }
  });
}

/**
 * An HTTP server on a raw socket: reads the request up to its blank line,
 * answers `response` and closes; what each connection received is recorded
 * by the client's port.
 */
export async function rawHttpServer(response: Buffer): Promise<{ port: number; received: Map<number, number>; close(): void }> {
  const received = new Map<number, number>();
  const server = createServer((s) => {
    let got = Buffer.alloc(0);
    s.on('data', (b: Buffer) => {
      got = Buffer.concat([got, b]);
      received.set(s.remotePort!, got.length);
      if (got.includes('\r\n\r\n')) s.end(response);
    });
    s.on('error', () => {});
  });
  const port = await listen(server);
  return { port, received, close: () => server.close() };
}

/** curl the URL; its pid, local port and what it says it sent and received. */
export function curl(url: string): Promise<{ pid: number; localPort: number; sizeRequest: number; sizeHeader: number; sizeDownload: number }> {
  return new Promise((resolve, reject) => {
    const child = execFile('curl', ['-sS', '-o', '/dev/null', '-w', '%{local_port} %{size_request} %{size_header} %{size_download}', url], (err, stdout) => {
      if (err) return reject(err);
      const [localPort, sizeRequest, sizeHeader, sizeDownload] = stdout.trim().split(' ').map(Number);
      resolve({ pid: child.pid!, localPort: localPort!, sizeRequest: sizeRequest!, sizeHeader: sizeHeader!, sizeDownload: sizeDownload! });
    });
  });
}

/** A TCP transfer: the client sends `up` bytes, the server answers `down` bytes and closes. */
export async function tcpTransfer(up: number, down: number, serverPort?: number): Promise<{ serverPort: number; clientPort: number; serverGot: number; clientGot: number }> {
  let serverGot = 0;
  let server: Server | undefined;
  let port = serverPort;
  if (port === undefined) {
    server = createServer((s) => {
      s.on('data', (b: Buffer) => {
        serverGot += b.length;
        if (serverGot === up) s.end(Buffer.alloc(down, 7));
      });
    });
    port = await listen(server);
  }
  const c: Socket = connect(port, '127.0.0.1');
  const closed = new Promise<void>((resolve) => c.on('close', () => resolve()));
  let clientGot = 0;
  await new Promise<void>((resolve) => c.on('connect', resolve));
  const clientPort = c.localPort!;
  c.on('data', (b: Buffer) => {
    clientGot += b.length;
  });
  c.write(Buffer.alloc(up, 1));
  await new Promise<void>((resolve) => c.on('end', resolve));
  c.end();
  await closed;
  server?.close();
  return { serverPort: port, clientPort, serverGot, clientGot };
}

/** A UDP request/response: a connected client sends `req` bytes, the server answers `resp` bytes. */
export async function udpExchange(req: number, resp: number): Promise<{ serverPort: number; clientPort: number; clientGot: number }> {
  const server = createSocket('udp4');
  server.on('message', (_m, rinfo) => server.send(Buffer.alloc(resp, 3), rinfo.port, rinfo.address));
  const serverPort = await listen(server, 'udp');
  const client = createSocket('udp4');
  await new Promise<void>((resolve) => client.connect(serverPort, '127.0.0.1', resolve));
  const clientPort = client.address().port;
  const got = new Promise<number>((resolve) => client.once('message', (m) => resolve(m.length)));
  client.send(Buffer.alloc(req, 2));
  const clientGot = await got;
  client.close();
  server.close();
  return { serverPort, clientPort, clientGot };
}

/** BPF program and link ids a process holds (from /proc/<pid>/fdinfo). */
export function bpfIdsOf(pid: number): { progs: number[]; links: number[] } {
  const progs = new Set<number>();
  const links = new Set<number>();
  for (const fd of readdirSync(`/proc/${pid}/fdinfo`)) {
    let info: string;
    try {
      info = readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8');
    } catch {
      continue;
    }
    const link = /^link_id:\s*(\d+)/m.exec(info);
    const prog = /^prog_id:\s*(\d+)/m.exec(info);
    if (link) links.add(Number(link[1]));
    else if (prog) progs.add(Number(prog[1]));
  }
  return { progs: [...progs], links: [...links] };
}

/** Program and link ids the kernel has now (bpftool). */
export function bpftoolIds(): { progs: Set<number>; links: Set<number> } {
  const ids = (what: string) => new Set<number>((JSON.parse(spawnSync('bpftool', [what, 'list', '-j'], { encoding: 'utf8' }).stdout || '[]') as { id: number }[]).map((p) => p.id));
  return { progs: ids('prog'), links: ids('link') };
}
