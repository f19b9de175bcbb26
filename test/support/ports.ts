import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/**
 * A TCP port free on the loopback interface right now, below the kernel's
 * ephemeral range. Most ports a test picks are bound later by another process
 * (an API instance, nginx, a container's published port); a port of the
 * ephemeral range (what `listen(0)` hands out) can be taken in between by any
 * outgoing connection's local end, and was (nginx's port in the cluster
 * compose test). Below that range only a listener can take it, and the bind
 * check sees listeners.
 */
export async function freePort(): Promise<number> {
  // Picked ports are not bound yet (a test picks several, then starts what binds
  // them): never hand one out twice in this process.
  const [ephemeralLow] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8')
    .trim()
    .split(/\s+/)
    .map(Number);
  const low = 10_000;
  const high = Math.max(low + 1_000, (ephemeralLow || 32_768) - 1);
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = low + Math.floor(Math.random() * (high - low));
    if (handedOut.has(port)) continue;
    const bound = await listenOnce(port).catch(() => undefined);
    if (bound) {
      handedOut.add(bound);
      return bound;
    }
  }
  throw new Error(`no free port in ${low}-${high} after 50 tries`);
}

const handedOut = new Set<number>();

function listenOnce(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      const { port: bound } = server.address() as { port: number };
      server.close(() => resolve(bound));
    });
  });
}
