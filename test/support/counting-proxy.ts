import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A reverse proxy on loopback that forwards every request to `target` and
 * counts them: what a server behind it really sent, whatever its own metrics
 * say. The Host header is rewritten to the target's, as a client would send it.
 */
export class CountingProxy {
  readonly paths: string[] = [];
  /** Each request's headers, in the order of `paths` (what a server sent beside its path: traceparent, …). */
  readonly headers: http.IncomingHttpHeaders[] = [];
  /** While set, every request is answered 503 here, as a broken load balancer in front of the target would. */
  failing = false;
  /**
   * Requests answered here with MLflow's 403 PERMISSION_DENIED instead of
   * forwarded, as an authenticating front that grants reads only would answer
   * a client without write permission.
   */
  forbidden?: (method: string, path: string) => boolean;
  private server?: http.Server;
  private readonly agent = new http.Agent({ keepAlive: true });

  constructor(private readonly target: string) {}

  get count(): number {
    return this.paths.length;
  }

  async start(): Promise<string> {
    const target = new URL(this.target);
    this.server = http.createServer((req, res) => {
      this.paths.push(`${req.method} ${(req.url ?? '').split('?')[0]}`);
      this.headers.push(req.headers);
      if (this.forbidden?.(req.method ?? 'GET', (req.url ?? '').split('?')[0])) {
        req.resume();
        res
          .writeHead(403, { 'content-type': 'application/json' })
          .end(
            JSON.stringify({ error_code: 'PERMISSION_DENIED', message: 'read-only credentials' }),
          );
        return;
      }
      if (this.failing) {
        req.resume();
        res.writeHead(503, { 'content-type': 'text/plain' }).end('failing on purpose');
        return;
      }
      const upstream = http.request(
        {
          host: target.hostname,
          port: target.port,
          method: req.method,
          path: req.url,
          headers: { ...req.headers, host: target.host },
          agent: this.agent,
        },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      upstream.on('error', () => {
        if (!res.headersSent) res.writeHead(502);
        res.end();
      });
      req.pipe(upstream);
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.agent.destroy();
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) =>
      this.server ? this.server.close(() => resolve()) : resolve(),
    );
  }
}
