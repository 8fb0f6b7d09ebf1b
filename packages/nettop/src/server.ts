// The /metrics endpoint (node:http).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { PrometheusAddress } from './args.js';
import { negotiate, OPENMETRICS_TYPE, PROMETHEUS_TEXT_TYPE } from './openmetrics.js';

export interface MetricsServer {
  /** Where it listens: http://host:port/metrics. */
  url: string;
  close(): Promise<void>;
}

/** Serve `render(format)` at GET /metrics (HEAD too); `/` says where the metrics are; anything else is 404. */
export function startMetricsServer(at: PrometheusAddress, render: (format: 'openmetrics' | 'text') => Promise<string>): Promise<MetricsServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (path === '/') {
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' }).end('nettop: metrics at /metrics\n');
      return;
    }
    if (path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found: metrics are at /metrics\n');
      return;
    }
    const format = negotiate(req.headers.accept);
    render(format).then(
      (body) => {
        res.writeHead(200, { 'content-type': format === 'openmetrics' ? OPENMETRICS_TYPE : PROMETHEUS_TEXT_TYPE });
        res.end(req.method === 'HEAD' ? undefined : body);
      },
      (e: unknown) => {
        res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end(`nettop: ${(e as Error).message}\n`);
      },
    );
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(at.port, at.host, () => {
      server.off('error', reject);
      const a = server.address() as AddressInfo;
      const host = a.family === 'IPv6' ? `[${a.address}]` : a.address;
      resolve({
        url: `http://${host}:${a.port}/metrics`,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections();
          }),
      });
    });
  });
}
