import { AccessLine, JsonLogger, JsonLoggerOptions, redactedFields } from './json.logger';
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

  describe('access (the request log’s direct path)', () => {
    const line: AccessLine = {
      msg: 'request',
      requestId: 'abc-1',
      method: 'POST',
      route: '/v1/models/:ref/invocations',
      path: '/v1/models/ir"is\\x/invocations',
      status: 200,
      ms: 1.25,
      model: 'iris',
      version: '3',
    };

    /** The same line written by access and by log(redactedFields(...)), text for text. */
    function both(
      options: Partial<JsonLoggerOptions>,
      l: AccessLine,
      level: 'log' | 'warn' = 'log',
    ) {
      const direct = logger(options);
      const general = logger(options);
      direct.sut.access(level, 'Http', { ...l });
      general.sut[level](redactedFields({ ...l }), 'Http');
      return { direct: direct.lines, general: general.lines };
    }

    it('writes the text log() writes for the same fields, escaping what needs it', () => {
      const { direct, general } = both({}, line);

      expect(direct).toHaveLength(1);
      expect(direct).toEqual(general);
      const { msg, ...fields } = line;
      expect(JSON.parse(direct[0])).toEqual({
        time: '2025-03-01T12:00:00.000Z',
        level: 'info',
        msg,
        context: 'Http',
        ...fields,
      });
      expect(direct[0]).toContain('"path":"/v1/models/ir\\"is\\\\x/invocations"');
    });

    it('places the logger’s own fields as log() does, and leaves out what is undefined', () => {
      const unanswered: AccessLine = { ...line, model: undefined, version: undefined };
      const fields = { instance: 'host-1', worker: 2 };

      for (const l of [line, unanswered, { ...line, variant: 'challenger' }]) {
        const { direct, general } = both({ fields }, l, 'warn');
        expect(direct).toEqual(general);
      }
      expect(both({ fields: { instance: 'h', worker: 'primary' } }, line).direct).toEqual(
        both({ fields: { instance: 'h', worker: 'primary' } }, line).general,
      );
    });

    it('writes nothing below LOG_LEVEL', () => {
      const { sut, lines } = logger({ level: 'log' });

      sut.access('debug', 'Http', line);

      expect(lines).toEqual([]);
    });

    it('takes the general path for a pretty line and for a line with a body', () => {
      const pretty = both({ format: 'pretty' }, line);
      const withBody = both({}, { ...line, body: { inputs: [[1, 2]] } });

      expect(pretty.direct).toEqual(pretty.general);
      expect(pretty.direct[0]).toContain('[Http] request');
      expect(withBody.direct).toEqual(withBody.general);
      expect(JSON.parse(withBody.direct[0])).toMatchObject({ body: { inputs: [[1, 2]] } });
    });
  });
});
