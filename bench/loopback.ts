/** Load goes to this machine only (bench/README.md). */
const LOOPBACK = ['127.0.0.1', 'localhost', '[::1]', '::1'];

export function assertLoopback(host: string): void {
  if (!LOOPBACK.includes(host)) {
    throw new Error(`refusing to load a non-loopback target: ${host}`);
  }
}
