import { StoreUnavailableError } from '../cluster/state-store';
import { TlsProblem, UpstreamError, UpstreamTlsError } from '../common/upstream/upstream.error';
import { CheckFailure, FailureKind } from './health.types';
import { messageOf } from '../common/values';

/** A check that did not settle within HEALTH_CHECK_TIMEOUT. */
export class CheckTimeoutError extends Error {
  constructor(readonly timeoutMs: number) {
    super(`no answer within ${timeoutMs} ms`);
    this.name = CheckTimeoutError.name;
  }
}

/** A dependency that answered, but reported some of its parts unhealthy (Airflow's scheduler…). */
export class UnhealthyComponentError extends Error {
  constructor(readonly components: string[]) {
    super(`unhealthy: ${components.join(', ')}`);
    this.name = UnhealthyComponentError.name;
  }
}

/** The dependency answered something that is not what it would answer. */
export class InvalidResponseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = InvalidResponseError.name;
  }
}

/** Instances serve different versions of one reference for longer than CLUSTER_SKEW_GRACE. */
export class VersionSkewError extends Error {
  constructor(readonly skewed: { reference: string; versions: Record<string, string[]> }[]) {
    super(
      `version skew: ${skewed
        .map(
          (s) =>
            `${s.reference} served as ${Object.entries(s.versions)
              .map(([version, ids]) => `v${version} by ${ids.join(', ')}`)
              .join('; ')}`,
        )
        .join(' | ')}`,
    );
    this.name = VersionSkewError.name;
  }
}

/** Which dependency failed and how it is configured, for the hint's wording. */
export interface FailureContext {
  /** `mlflow`, `airflow`, or another dependency's key. */
  dependency: string;
  displayName: string;
  /** Base URL the dependency is reached at, without credentials. */
  target: string;
  timeoutMs?: number;
}

/** The settings a hint points an operator to, per dependency. */
interface Settings {
  url: string;
  credentials: string;
  insecureTls: string;
  start: (port: string) => string;
}

const SETTINGS: Record<string, Settings> = {
  mlflow: {
    url: 'MLFLOW_TRACKING_URI',
    credentials: 'MLFLOW_TRACKING_USERNAME / MLFLOW_TRACKING_PASSWORD (or MLFLOW_TRACKING_TOKEN)',
    insecureTls: 'MLFLOW_TRACKING_INSECURE_TLS=true',
    start: (port) => `mlflow server --host 0.0.0.0 --port ${port}`,
  },
  redis: {
    url: 'API_REDIS_HOST / API_REDIS_PORT (or API_REDIS_URL)',
    credentials: 'API_REDIS_PASSWORD',
    insecureTls: 'a rediss:// API_REDIS_URL with a trusted certificate',
    start: (port) => `redis-server --port ${port}`,
  },
  airflow: {
    url: 'AIRFLOW_BASE_URL',
    credentials: 'AIRFLOW_USERNAME / AIRFLOW_PASSWORD',
    insecureTls: 'AIRFLOW_INSECURE_TLS=true',
    start: (port) => `airflow api-server --port ${port}, or airflow standalone`,
  },
};

/** What a dependency indicator's check threw, classified in its own words (name, target, timeout). */
export function indicatorFailure(
  indicator: { name: string; displayName: string; target: string },
  error: unknown,
  timeoutMs?: number,
): CheckFailure {
  return classifyFailure(error, {
    dependency: indicator.name,
    displayName: indicator.displayName,
    target: indicator.target,
    timeoutMs,
  });
}

/**
 * Maps what a check threw to a failure kind and a hint an operator can act
 * on, in the words of the deployment guide's troubleshooting: "connection
 * refused" means not running or a firewall, a timeout means the network path
 * or security groups, and so on.
 */
export function classifyFailure(error: unknown, context: FailureContext): CheckFailure {
  const kind = kindOf(error);
  return { kind, hint: hintFor(kind, error, context), message: messageOf(error) };
}

function kindOf(error: unknown): FailureKind {
  if (error instanceof CheckTimeoutError) return 'timeout';
  if (error instanceof UnhealthyComponentError) return 'unhealthy_component';
  if (error instanceof InvalidResponseError) return 'invalid_response';
  if (error instanceof VersionSkewError) return 'version_skew';
  if (error instanceof StoreUnavailableError) return error.reason;
  if (error instanceof UpstreamError) {
    return error.reason === 'invalid_request' || error.reason === 'conflict'
      ? 'invalid_response'
      : error.reason;
  }
  return 'unknown';
}

/** What a hint is worded from. */
interface HintFacts {
  /** The dependency's display name. */
  name: string;
  host: string;
  hostname: string;
  port: string;
  settings?: Settings;
  /** The setting that names the dependency's address. */
  urlSetting: string;
  context: FailureContext;
  error: unknown;
}

/** One hint per kind: a kind without a hint does not compile. */
const HINTS: Record<FailureKind, (facts: HintFacts) => string> = {
  connection_refused: ({ name, host, port, settings, urlSetting }) =>
    `${name} is not running on ${host}, or a firewall blocks port ${port}: ` +
    (settings ? `start it (${settings.start(port)}) and ` : '') +
    `check that ${urlSetting} names the right host and port`,
  timeout: ({ name, host, port, context }) =>
    `${name} at ${host} did not answer` +
    (context.timeoutMs ? ` within ${context.timeoutMs} ms` : '') +
    `: check security groups / firewall rules and the network path from this server to port ${port}, ` +
    `and whether ${name} is overloaded`,
  dns: ({ hostname, urlSetting }) =>
    `The host name ${hostname} does not resolve from this server: check ${urlSetting}, /etc/hosts and DNS`,
  tls: (facts) =>
    TLS_HINTS[facts.error instanceof UpstreamTlsError ? facts.error.problem : 'unknown'](facts) +
    (facts.settings && facts.error instanceof UpstreamTlsError && facts.error.problem !== 'protocol'
      ? `; ${facts.settings.insecureTls} skips the check, for testing only`
      : ''),
  network: ({ host }) =>
    `${host} is unreachable from this server: check routes, VPN and security groups`,
  connection_reset: ({ name, host }) =>
    `The connection to ${host} was cut while ${name} answered: a proxy or load balancer in between may drop it, or ${name} crashed; see its logs`,
  unauthorized: ({ name, settings }) =>
    settings
      ? `${name} refused the credentials: check ${settings.credentials} against the users ${name} knows`
      : `${name} refused the credentials`,
  forbidden: ({ name }) =>
    `${name} accepted the credentials but refuses this call: give the user read access to the registry / DAGs`,
  rejected_host: ({ name, host, hostname }) =>
    `${name} rejected the Host header "${host}" (its /health still says OK): start ${name} with ` +
    `--allowed-hosts including ${hostname},${hostname}:* (MLFLOW_SERVER_ALLOWED_HOSTS), ` +
    `or reach it by a name it already allows`,
  not_found: ({ name, context, urlSetting }) =>
    `${context.target} answered 404: it is not ${name}'s API; check ${urlSetting}, including any path prefix`,
  rate_limited: ({ name }) =>
    `${name} is rate limiting this server (429): raise its limits or HEALTH_CHECK_INTERVAL`,
  server_error: ({ name, error }) => {
    const status = error instanceof UpstreamError && error.status ? ` ${error.status}` : '';
    return `${name} answered${status}: see its logs (a proxy in front answers 502/503 while ${name} is down or starting)`;
  },
  invalid_response: ({ name, context, urlSetting }) =>
    `${context.target} answered, but not as ${name} does: check ${urlSetting}`,
  unhealthy_component: ({ name, error }) => {
    const parts =
      error instanceof UnhealthyComponentError ? error.components.join(', ') : 'a component';
    return (
      `${name} is up but reports ${parts} unhealthy: check that those processes run ` +
      `(scheduler, triggerer, dag-processor) and reach the metadata database`
    );
  },
  version_skew: () =>
    `Instances serve different versions of the same model: one failed to load the new version ` +
    `(see its /v1/models lastError), missed the reload broadcast, or cannot reach MLflow; ` +
    `POST /v1/models/{name}/reload on any instance retries on all of them`,
  // Reported by this process's own checks (api.health.ts), which word their own hints.
  not_checked_yet: unexpected,
  models_not_ready: unexpected,
  model_load_failed: unexpected,
  draining: unexpected,
  unknown: unexpected,
};

/** One hint per TLS problem: each is fixed somewhere else. */
const TLS_HINTS: Record<TlsProblem | 'unknown', (facts: HintFacts) => string> = {
  expired: ({ name, host }) =>
    `The certificate ${name} presents at ${host} has expired (or is not valid yet): renew it ` +
    `on that server (certbot renew, or your CA) and reload its proxy; if it was just renewed, ` +
    `check the clock of both servers`,
  self_signed: ({ name, host }) =>
    `${name} at ${host} presents a self-signed certificate this server does not trust: put that ` +
    `certificate (or the CA that signed it) in a PEM file and start this server with ` +
    `NODE_EXTRA_CA_CERTS=<that file>, or give ${name} a certificate from a trusted CA`,
  untrusted_issuer: ({ name, host }) =>
    `The certificate ${name} presents at ${host} is signed by a CA this server does not know: ` +
    `have ${name}'s proxy send the whole chain (fullchain.pem, not cert.pem), or start this server ` +
    `with NODE_EXTRA_CA_CERTS=<the CA's PEM file> for a private CA`,
  wrong_name: ({ name, host, hostname, urlSetting }) =>
    `The certificate ${name} presents at ${host} is not issued for ${hostname}: reach ${name} by a ` +
    `name the certificate lists (check ${urlSetting}), or reissue it with ${hostname} among its ` +
    `subject alternative names`,
  protocol: ({ name, host, urlSetting }) =>
    `No TLS handshake with ${host}: the port speaks plain HTTP or no common TLS version; ` +
    `check the scheme and port of ${urlSetting} (http:// for a plain ${name})`,
  unknown: ({ host }) =>
    `The TLS handshake with ${host} failed: check its certificate (dates, issuer, names) ` +
    `or add its CA with NODE_EXTRA_CA_CERTS`,
};

function unexpected({ name }: HintFacts): string {
  return `Unexpected failure checking ${name}: see this server's log`;
}

function hintFor(kind: FailureKind, error: unknown, context: FailureContext): string {
  const settings = SETTINGS[context.dependency];
  return HINTS[kind]({
    name: context.displayName,
    ...address(context.target),
    settings,
    urlSetting: settings?.url ?? `the ${context.displayName} URL setting`,
    context,
    error,
  });
}

/** host:port (port filled from the scheme) and the bare host name of a URL. */
function address(target: string): { host: string; hostname: string; port: string } {
  try {
    const url = new URL(target);
    const port = url.port || (url.protocol === 'https:' ? '443' : '80');
    return { host: `${url.hostname}:${port}`, hostname: url.hostname, port };
  } catch {
    return { host: target, hostname: target, port: '?' };
  }
}
