import { JsonLogger, JsonLoggerOptions, redactedFields } from './json.logger';
import { requestContext } from './request-context';

function logger(options: Partial<JsonLoggerOptions> = {}) {
  const lines: string[] = [];
  const sut = new JsonLogger({
    format: 'json',
    level: 'log',
    write: (line) => lines.push(line),
    now: () => new Date('2025-03-01T12:00:00.000Z'),
    ...options,
  });
  const records = () => lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  return { sut, lines, records };
}

describe('JsonLogger', () => {
  it('writes one JSON object per line with time, level, context and msg', () => {
    const { sut, lines, records } = logger();

    sut.log('listening', 'Bootstrap');

    expect(lines).toHaveLength(1);
    expect(lines[0].endsWith('\n')).toBe(true);
    expect(records()[0]).toEqual({
      time: '2025-03-01T12:00:00.000Z',
      level: 'info',
      context: 'Bootstrap',
      msg: 'listening',
    });
  });

  it('adds the id of the request being served', () => {
    const { sut, records } = logger();

    requestContext.run({ requestId: 'req-42' }, () => sut.warn('slow model', 'Inference'));

    expect(records()[0]).toMatchObject({ level: 'warn', requestId: 'req-42', msg: 'slow model' });
  });

  it('spreads an object message into fields', () => {
    const { sut, records } = logger();

    sut.log({ msg: 'request', method: 'POST', status: 200, ms: 1.5 }, 'Http');

    expect(records()[0]).toMatchObject({ msg: 'request', method: 'POST', status: 200, ms: 1.5 });
  });

  it('keeps the stack of an error, as Nest passes it', () => {
    const { sut, records } = logger();

    sut.error('boom', 'Error: boom\n    at x (y.ts:1:1)', 'Filter');

    expect(records()[0]).toMatchObject({
      level: 'error',
      context: 'Filter',
      msg: 'boom',
      stack: 'Error: boom\n    at x (y.ts:1:1)',
    });
  });

  it('describes an Error given as the message', () => {
    const { sut, records } = logger();

    sut.error(new TypeError('bad'), 'Ctx');

    expect(records()[0]).toMatchObject({ msg: 'bad', err: { name: 'TypeError', message: 'bad' } });
  });

  it('writes only LOG_LEVEL and more severe levels', () => {
    const { sut, records } = logger({ level: 'warn' });

    sut.debug('no');
    sut.log('no');
    sut.warn('yes');
    sut.error('yes');
    sut.fatal('yes');

    expect(records().map((r) => r.level)).toEqual(['warn', 'error', 'fatal']);
  });

  it('follows the levels Nest sets', () => {
    const { sut, records } = logger();

    sut.setLogLevels(['verbose']);
    sut.log('no');
    sut.verbose('yes');

    expect(records().map((r) => r.level)).toEqual(['trace']);
  });

  it('redacts credentials in messages and secret-named fields', () => {
    const { sut, lines } = logger();

    sut.log('calling http://alice:hunter2@mlflow:5000 with Bearer abcdef123456', 'X');
    sut.log({
      msg: 'login',
      password: 'pw-value',
      headers: { authorization: 'Basic Zm9vOmJhcg==' },
    });

    const all = lines.join('');
    expect(all).not.toContain('hunter2');
    expect(all).not.toContain('abcdef123456');
    expect(all).not.toContain('pw-value');
    expect(all).not.toContain('Zm9vOmJhcg==');
    expect(all).toContain('[redacted]');
  });

  it('writes fields marked as already redacted as they are, with the line’s own fields', () => {
    const { sut, lines } = logger();

    sut.log(redactedFields({ msg: 'request', path: '/token=kept-as-built' }), 'Http');

    expect(JSON.parse(lines[0])).toMatchObject({
      level: 'info',
      context: 'Http',
      msg: 'request',
      path: '/token=kept-as-built',
    });
  });

  it('writes a readable line in the pretty format', () => {
    const { sut, lines } = logger({ format: 'pretty' });

    requestContext.run({ requestId: 'r1' }, () =>
      sut.log({ msg: 'loaded', model: 'iris' }, 'Models'),
    );

    expect(lines[0]).toBe('2025-03-01T12:00:00.000Z INFO  [Models] loaded model=iris (r1)\n');
  });

  it('keeps a line whose fields cannot be serialised', () => {
    const { sut, records } = logger();
    const circular: Record<string, unknown> = { msg: 'loop' };
    circular.self = circular;

    sut.log(circular, 'X');

    expect(records()[0]).toMatchObject({ msg: 'loop', context: 'X' });
  });
});
