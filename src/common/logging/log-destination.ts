import { destination } from 'pino';

/**
 * Bytes of log lines gathered into one write. Measured (bench/profile.sh):
 * one asynchronous write per line cost more main-thread time than the
 * synchronous write it replaced; gathered, a busy server writes once per
 * ~15 access lines.
 */
const BATCH_BYTES = 4096;

/** A quiet server's lines wait at most this long for a batch to fill. */
const FLUSH_EVERY_MS = 100;

let stdout: ((line: string) => void) | undefined;

/**
 * Standard output through pino's asynchronous destination (sonic-boom): log
 * lines are gathered up to BATCH_BYTES and written by the event loop in one
 * call, at the latest FLUSH_EVERY_MS after they were logged, so a request
 * that logs does not pay a write call of its own. What is still gathered when
 * the process exits is written synchronously then; only a process killed
 * outright (SIGKILL, a native crash) can lose its last lines — pino's trade
 * (https://getpino.io/#/docs/asynchronous). One destination per process.
 */
export function asyncStdout(): (line: string) => void {
  if (stdout) return stdout;
  const sink = destination({ dest: 1, sync: false, minLength: BATCH_BYTES });
  let pending = false;
  setInterval(() => {
    if (!pending) return;
    pending = false;
    sink.flush();
  }, FLUSH_EVERY_MS).unref();
  process.on('exit', () => {
    try {
      sink.flushSync();
    } catch {
      // Nothing gathered, or stdout is gone: nothing more can be written anyway.
    }
  });
  stdout = (line) => {
    pending = true;
    sink.write(line);
  };
  return stdout;
}
