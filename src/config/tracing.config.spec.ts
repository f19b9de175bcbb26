import { ConfigValidationError } from './env.validation';
import { parseKeyValueList, readTracingSettings } from './tracing.config';

describe('readTracingSettings', () => {
  function problemsOf(vars: Record<string, string>): string[] {
    try {
      readTracingSettings(vars);
    } catch (error) {
      if (error instanceof ConfigValidationError) return error.problems;
      throw error;
    }
    throw new Error('expected a configuration error');
  }

  it('is off when nothing is set: no provider, nothing exported or propagated', () => {
    expect(readTracingSettings({})).toBeUndefined();
  });

  it('is off with OTEL_SDK_DISABLED whatever the exporter says', () => {
    expect(
      readTracingSettings({ OTEL_TRACES_EXPORTER: 'otlp', OTEL_SDK_DISABLED: 'true' }),
    ).toBeUndefined();
  });

  it('posts to the collector on this host by default, with the specification’s defaults', () => {
    const sut = readTracingSettings({ OTEL_TRACES_EXPORTER: 'otlp' });

    expect(sut).toEqual({
      exporter: 'otlp',
      url: 'http://localhost:4318/v1/traces',
      headers: {},
      timeoutMs: 10_000,
      serviceName: 'modelgate',
      resourceAttributes: {},
      sampler: 'parentbased_always_on',
      ratio: 1,
      scheduleDelayMs: 5_000,
      maxQueueSize: 2_048,
    });
  });

  it('appends /v1/traces to OTEL_EXPORTER_OTLP_ENDPOINT, and takes the traces endpoint as is', () => {
    const base = readTracingSettings({
      OTEL_TRACES_EXPORTER: 'otlp',
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/',
    });
    const full = readTracingSettings({
      OTEL_TRACES_EXPORTER: 'otlp',
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318',
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://gateway.example/otlp/spans',
    });

    expect(base?.url).toBe('http://collector:4318/v1/traces');
    expect(full?.url).toBe('https://gateway.example/otlp/spans');
  });

  it('merges the headers, the traces-only ones winning, values percent-decoded', () => {
    const sut = readTracingSettings({
      OTEL_TRACES_EXPORTER: 'otlp',
      OTEL_EXPORTER_OTLP_HEADERS: 'api-key=secret%20one, tenant=a',
      OTEL_EXPORTER_OTLP_TRACES_HEADERS: 'tenant=b',
    });

    expect(sut?.headers).toEqual({ 'api-key': 'secret one', tenant: 'b' });
  });

  it('takes the service name and resource attributes, and the traces timeout over the general one', () => {
    const sut = readTracingSettings({
      OTEL_TRACES_EXPORTER: 'console',
      OTEL_SERVICE_NAME: 'scoring-eu',
      OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment.name=prod,team=ml',
      OTEL_EXPORTER_OTLP_TIMEOUT: '2000',
      OTEL_EXPORTER_OTLP_TRACES_TIMEOUT: '3000',
      OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
      OTEL_TRACES_SAMPLER_ARG: '0.25',
    });

    expect(sut).toMatchObject({
      exporter: 'console',
      serviceName: 'scoring-eu',
      resourceAttributes: { 'deployment.environment.name': 'prod', team: 'ml' },
      timeoutMs: 3000,
      sampler: 'parentbased_traceidratio',
      ratio: 0.25,
    });
  });

  it('refuses an unknown exporter, a protocol it does not send, a sampler ratio out of 0…1 and a bad URL, naming each', () => {
    const problems = problemsOf({
      OTEL_TRACES_EXPORTER: 'jaeger',
      OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc',
      OTEL_TRACES_SAMPLER: 'sometimes',
      OTEL_TRACES_SAMPLER_ARG: '1.5',
      OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318',
    });

    expect(problems).toEqual(
      expect.arrayContaining([
        'OTEL_TRACES_EXPORTER must be none, otlp or console',
        'OTEL_EXPORTER_OTLP_PROTOCOL must be http/json',
        expect.stringContaining('OTEL_TRACES_SAMPLER must be one of always_on'),
        'OTEL_TRACES_SAMPLER_ARG must be a number from 0 to 1',
        expect.stringContaining('OTEL_EXPORTER_OTLP_ENDPOINT must be an http(s) URL'),
      ]),
    );
  });

  it('names a malformed header list without quoting it (headers carry credentials)', () => {
    const problems = problemsOf({
      OTEL_TRACES_EXPORTER: 'otlp',
      OTEL_EXPORTER_OTLP_HEADERS: 'authorization=Bearer%20tok,s3cr3t-no-equals',
    });

    expect(problems).toEqual([
      'OTEL_EXPORTER_OTLP_HEADERS: entry 2 is not key=value (key1=value1,key2=value2)',
    ]);
    expect(problems.join()).not.toContain('s3cr3t');
  });
});

describe('parseKeyValueList', () => {
  it('skips empty entries and trims blanks around keys and values', () => {
    expect(parseKeyValueList(' a = 1 ,, b=x=y ,')).toEqual({ a: '1', b: 'x=y' });
  });

  it('refuses a key with spaces, an entry without a key, and a broken percent-encoding', () => {
    expect(() => parseKeyValueList('a b=1')).toThrow('entry 1 is not key=value');
    expect(() => parseKeyValueList('ok=1,=2')).toThrow('entry 2 is not key=value');
    expect(() => parseKeyValueList('k=%E0%A4%A')).toThrow(
      'entry 1 has a value that is not percent-encoded',
    );
  });
});
