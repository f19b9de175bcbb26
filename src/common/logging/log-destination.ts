import { destination } from 'pino';

let stdout: ((line: string) => void) | undefined;

/**
 * Standard output through pino's asynchronous destination (sonic-boom): a
 * log line is queued and written by the event loop, lines that arrive while
 * a write is in flight go out together in the next one, so a request that
 * logs does not wait on a `write` call of its own. What is still queued when
 * the process exits is written synchronously then; only a process killed
 * outright (SIGKILL, a native crash) can lose its last lines — pino's trade
 * (https://getpino.io/#/docs/asynchronous). One destination per process.
 */
export function asyncStdout(): (line: string) => void {
  if (stdout) return stdout;
  const sink = destination({ dest: 1, sync: false });
  process.on('exit', () => {
    try {
      sink.flushSync();
    } catch {
      // Nothing queued, or stdout is gone: nothing more can be written anyway.
    }
  });
  stdout = (line) => {
    sink.write(line);
  };
  return stdout;
}
