import {
  UpstreamInvalidRequestError,
  UpstreamNotFoundError,
  UpstreamTlsError,
  UpstreamTransientError,
  UpstreamUnauthorizedError,
} from '../common/upstream/upstream.error';
import {
  CheckTimeoutError,
  FailureContext,
  InvalidResponseError,
  UnhealthyComponentError,
  classifyFailure as sut,
} from './failure-classifier';

const mlflow: FailureContext = {
  dependency: 'mlflow',
  displayName: 'MLflow',
  target: 'http://mlflow.internal:5000',
  timeoutMs: 5000,
};
const airflow: FailureContext = {
  dependency: 'airflow',
  displayName: 'Airflow',
  target: 'https://airflow.example.com',
};

describe('classifyFailure', () => {
  it('calls a refused connection "not running or firewalled", naming host, port and setting', () => {
    const error = new UpstreamTransientError('mlflow', 'connection_refused', 'connection refused');

    const failure = sut(error, mlflow);

    expect(failure.kind).toBe('connection_refused');
    expect(failure.hint).toContain('MLflow is not running on mlflow.internal:5000');
    expect(failure.hint).toContain('firewall blocks port 5000');
    expect(failure.hint).toContain('mlflow server --host 0.0.0.0 --port 5000');
    expect(failure.hint).toContain('MLFLOW_TRACKING_URI');
    expect(failure.message).toBe('mlflow: connection refused');
  });

  it('points a timeout at security groups and the network path, with the timeout', () => {
    const failure = sut(new CheckTimeoutError(5000), mlflow);

    expect(failure.kind).toBe('timeout');
    expect(failure.hint).toContain('within 5000 ms');
    expect(failure.hint).toContain('security groups');
    expect(failure.hint).toContain('network path');
  });

  it('classifies a client-side timeout the same as the job’s own', () => {
    expect(sut(new UpstreamTransientError('airflow', 'timeout', 'timed out'), airflow).kind).toBe(
      'timeout',
    );
  });

  it('names the host that does not resolve', () => {
    const failure = sut(new UpstreamTransientError('mlflow', 'dns', 'not resolved'), mlflow);

    expect(failure.kind).toBe('dns');
    expect(failure.hint).toContain('mlflow.internal does not resolve');
  });

  it('fills the port from the scheme and offers the insecure switch for TLS, for testing only', () => {
    const failure = sut(
      new UpstreamTlsError('airflow', 'TLS failure', 'CERT_HAS_EXPIRED'),
      airflow,
    );

    expect(failure.kind).toBe('tls');
    expect(failure.hint).toContain('airflow.example.com:443');
    expect(failure.hint).toContain('AIRFLOW_INSECURE_TLS=true');
    expect(failure.hint).toContain('testing only');
  });

  describe('TLS: one hint per problem, each pointing where it is fixed', () => {
    const tls = (code: string) =>
      sut(new UpstreamTlsError('mlflow', `TLS failure (${code})`, code), {
        ...mlflow,
        target: 'https://mlflow.internal',
      });

    it.each([
      ['CERT_HAS_EXPIRED', 'has expired', 'renew it'],
      ['CERT_NOT_YET_VALID', 'not valid yet', 'clock'],
      ['DEPTH_ZERO_SELF_SIGNED_CERT', 'self-signed', 'NODE_EXTRA_CA_CERTS'],
      ['SELF_SIGNED_CERT_IN_CHAIN', 'self-signed', 'NODE_EXTRA_CA_CERTS'],
      ['UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'CA this server does not know', 'fullchain.pem'],
      ['UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'CA this server does not know', 'fullchain.pem'],
      ['ERR_TLS_CERT_ALTNAME_INVALID', 'not issued for mlflow.internal', 'MLFLOW_TRACKING_URI'],
    ])('%s: %s, fix: %s', (code, says, fix) => {
      const failure = tls(code);

      expect(failure.kind).toBe('tls');
      expect(failure.hint).toContain(says);
      expect(failure.hint).toContain(fix);
      expect(failure.hint).toContain('mlflow.internal:443');
      expect(failure.hint).toContain('MLFLOW_TRACKING_INSECURE_TLS=true');
    });

    it('gives expired, self-signed and wrong-name certificates three different hints', () => {
      const hints = [
        'CERT_HAS_EXPIRED',
        'DEPTH_ZERO_SELF_SIGNED_CERT',
        'ERR_TLS_CERT_ALTNAME_INVALID',
      ].map((code) => tls(code).hint);

      expect(new Set(hints).size).toBe(3);
    });

    it('sends a port without TLS to the URL’s scheme, not to the insecure switch', () => {
      const failure = tls('ERR_SSL_WRONG_VERSION_NUMBER');

      expect(failure.hint).toContain('plain HTTP');
      expect(failure.hint).toContain('scheme and port of MLFLOW_TRACKING_URI');
      expect(failure.hint).not.toContain('INSECURE_TLS');
    });
  });

  it.each([
    ['mlflow', mlflow, 'MLFLOW_TRACKING_USERNAME'],
    ['airflow', airflow, 'AIRFLOW_USERNAME / AIRFLOW_PASSWORD'],
  ] as const)('sends %s’s unauthorized to its credential settings', (service, context, setting) => {
    const error = new UpstreamUnauthorizedError(service, 'unauthorized', '401');

    const failure = sut(error, context);

    expect(failure.kind).toBe('unauthorized');
    expect(failure.hint).toContain(setting);
  });

  it('tells how to allow the host when MLflow rejects the Host header', () => {
    const error = new UpstreamUnauthorizedError(
      'mlflow',
      'rejected_host',
      '403 Invalid Host header',
    );

    const failure = sut(error, mlflow);

    expect(failure.kind).toBe('rejected_host');
    expect(failure.hint).toContain('--allowed-hosts including mlflow.internal,mlflow.internal:*');
    expect(failure.hint).toContain('/health still says OK');
  });

  it('names the unhealthy components', () => {
    const failure = sut(new UnhealthyComponentError(['scheduler (unhealthy)']), airflow);

    expect(failure.kind).toBe('unhealthy_component');
    expect(failure.hint).toContain('scheduler (unhealthy)');
  });

  it('reads a 404 as a URL that is not the service’s API', () => {
    const failure = sut(new UpstreamNotFoundError('mlflow', 'not_found', '404'), mlflow);

    expect(failure.kind).toBe('not_found');
    expect(failure.hint).toContain('path prefix');
  });

  it('quotes the status of a server error', () => {
    const error = new UpstreamTransientError('mlflow', 'server_error', '502', { status: 502 });

    expect(sut(error, mlflow).hint).toContain('MLflow answered 502');
  });

  it.each([
    [new UpstreamInvalidRequestError('mlflow', 'invalid_request', '400'), 'invalid_response'],
    [new InvalidResponseError('GET /health answered "hello"'), 'invalid_response'],
    [new UpstreamTransientError('mlflow', 'connection_reset', 'reset'), 'connection_reset'],
    [new UpstreamTransientError('mlflow', 'network', 'EHOSTUNREACH'), 'network'],
    [new UpstreamTransientError('mlflow', 'rate_limited', '429'), 'rate_limited'],
    [new UpstreamUnauthorizedError('mlflow', 'forbidden', '403'), 'forbidden'],
    [new Error('bug'), 'unknown'],
    ['a string', 'unknown'],
  ])('classifies %p as %s', (error, kind) => {
    const failure = sut(error, mlflow);

    expect(failure.kind).toBe(kind);
    expect(failure.hint.length).toBeGreaterThan(10);
  });

  it('words a hint for a dependency it has no settings for', () => {
    const error = new UpstreamTransientError('mlflow', 'connection_refused', 'refused');

    const failure = sut(error, {
      dependency: 'redis',
      displayName: 'Redis',
      target: 'redis://r:6379',
    });

    expect(failure.hint).toContain('Redis is not running on r:6379');
  });
});
