import { RequestMethod } from '@nestjs/common';
import { METHOD_METADATA, MODULE_METADATA, PATH_METADATA } from '@nestjs/common/constants';
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import {
  Environment,
  ConfigValidationError,
  assertValidEnvironment,
} from '../src/config/env.validation';
import { ENVIRONMENT_CLASSES } from '../src/config/environment';
import { CLOSE_TIMEOUT_MS } from '../src/health/graceful-shutdown';
import { HealthModule } from '../src/health/health.module';
import {
  Container,
  Manifest,
  envOf,
  knownVariables,
  loadManifests,
  portNumber,
  selects,
  variableDefault,
} from './support/kubernetes';

const defaultOf = (name: string): unknown => variableDefault(ENVIRONMENT_CLASSES, name);

/**
 * deployment/kubernetes/: scripts/k8s-validate.sh renders every overlay with
 * `kubectl kustomize` and validates it strictly against the Kubernetes
 * schemas; then the links between the manifests and the server that no
 * schema can see.
 */

const ROOT = path.resolve(__dirname, '..');
const OVERLAYS = readdirSync(path.join(ROOT, 'deployment/kubernetes/overlays'));
/** Until the gRPC listener lands (issue 16's sibling), its port is the Open Inference convention. */
const GRPC_PORT_WITHOUT_SETTING = 8001;

let outDir: string;
let validation: { ok: boolean; output: string };

beforeAll(async () => {
  outDir = mkdtempSync(path.join(tmpdir(), 'mg-k8s-'));
  try {
    const { stderr } = await promisify(execFile)(
      'bash',
      [path.join(ROOT, 'scripts/k8s-validate.sh'), '--out', outDir],
      { cwd: ROOT, timeout: 540_000, maxBuffer: 16 * 1024 * 1024 },
    );
    validation = { ok: true, output: stderr };
  } catch (error) {
    const failed = error as { stderr?: string; stdout?: string; message: string };
    validation = { ok: false, output: `${failed.message}\n${failed.stdout}\n${failed.stderr}` };
  }
}, 600_000);

afterAll(() => rmSync(outDir, { recursive: true, force: true }));

it('renders every overlay and passes strict schema validation', () => {
  expect(OVERLAYS.length).toBeGreaterThan(0);
  expect(validation.output).not.toContain('ERROR');
  expect(validation.ok).toBe(true);
  for (const overlay of OVERLAYS) {
    expect(validation.output).toContain(`overlay ${overlay}:`);
    expect(validation.output).not.toContain(`overlay ${overlay}: invalid`);
  }
});

describe.each(OVERLAYS)('overlay %s', (overlay) => {
  let manifests: Manifest;
  let api: Container;
  let env: Environment;

  beforeAll(() => {
    manifests = loadManifests(readFileSync(path.join(outDir, `${overlay}.yaml`), 'utf8'));
    api = manifests.container('modelgate-api', 'api');
    env = envOf(manifests, api);
  });

  it('points the probes at health routes the server registers', () => {
    const routes = healthRoutes();

    expect(api.livenessProbe?.httpGet?.path).toBe('/health/live');
    expect(api.startupProbe?.httpGet?.path).toBe('/health/live');
    expect(api.readinessProbe?.httpGet?.path).toBe('/health/ready');
    for (const probe of [api.livenessProbe, api.startupProbe, api.readinessProbe]) {
      expect(routes).toContain(`GET ${probe?.httpGet?.path}`);
      expect(portNumber(api, probe?.httpGet?.port)).toBe(Number(env.API_PORT));
    }
  });

  it('opens the ports of API_PORT and API_GRPC_PORT, in the pod and the Service', () => {
    const httpPort = Number(env.API_PORT ?? defaultOf('API_PORT'));
    const grpcPort = Number(
      env.API_GRPC_PORT ?? defaultOf('API_GRPC_PORT') ?? GRPC_PORT_WITHOUT_SETTING,
    );
    const servicePorts = manifests.service('modelgate-api').ports;

    expect(httpPort).toBe(defaultOf('API_PORT'));
    expect(portNumber(api, 'http')).toBe(httpPort);
    expect(portNumber(api, 'grpc')).toBe(grpcPort);
    expect(servicePorts.map((p) => [p.name, p.port, portNumber(api, p.targetPort)])).toEqual([
      ['http', httpPort, httpPort],
      ['grpc', grpcPort, grpcPort],
    ]);
    expect(servicePorts.find((p) => p.name === 'grpc')?.appProtocol).toBe('grpc');
  });

  it('gives the pod longer to stop than preStop, the drain, the grace period and closing take', () => {
    const pod = manifests.deployment('modelgate-api').template.spec;
    const preStop = api.lifecycle?.preStop?.sleep?.seconds ?? 0;
    const drain = Number(env.SHUTDOWN_DRAIN_DELAY ?? defaultOf('SHUTDOWN_DRAIN_DELAY'));
    const grace = Number(env.SHUTDOWN_GRACE_PERIOD ?? defaultOf('SHUTDOWN_GRACE_PERIOD'));

    expect(drain).toBeGreaterThan(0);
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(
      preStop + drain + grace + CLOSE_TIMEOUT_MS / 1000,
    );
  });

  it('sets only variables the server reads, in the ConfigMap, the Secret and the pod', () => {
    const known = knownVariables(ENVIRONMENT_CLASSES);
    const keys = [
      ...Object.keys(manifests.configMap(api).data ?? {}),
      ...Object.keys(manifests.secret(api).data ?? {}),
      // Names only other values refer to, as $(NAME), are the pod's own.
      ...(api.env ?? [])
        .map((e) => e.name)
        .filter((name) => !(api.env ?? []).some((e) => e.value?.includes(`$(${name})`))),
    ];

    expect(keys.length).toBeGreaterThan(20);
    expect(keys.filter((key) => !known.has(key))).toEqual([]);
  });

  it('configures a server that starts once the placeholders are replaced, and not before', () => {
    const replaced: Environment = {
      ...env,
      API_CLUSTER_SECRET: 'a'.repeat(64),
      API_CALLBACK_TOKEN: 'b'.repeat(32),
      METRICS_TOKEN: 'c'.repeat(32),
    };

    expect(() => assertValidEnvironment(ENVIRONMENT_CLASSES, replaced)).not.toThrow();
    expect(() => assertValidEnvironment(ENVIRONMENT_CLASSES, env)).toThrow(ConfigValidationError);
    expect(env.API_ENABLE_DISTRIBUTED).toBe('true');
    expect(env.API_DISTRIBUTED_BACKEND ?? 'redis').toBe('redis');
  });

  it('selects the API pods from the HPA, the PDB, the Service and the NetworkPolicy', () => {
    const deployment = manifests.deployment('modelgate-api');
    const podLabels = deployment.template.metadata.labels;
    const hpa = manifests.autoscaler('modelgate-api');

    expect(selects(deployment.selector.matchLabels, podLabels)).toBe(true);
    expect(hpa.scaleTargetRef).toEqual({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      name: deployment.name,
    });
    expect(hpa.minReplicas).toBeGreaterThanOrEqual(2);
    expect(
      selects(manifests.disruptionBudget('modelgate-api').selector.matchLabels, podLabels),
    ).toBe(true);
    expect(selects(manifests.service('modelgate-api').selector, podLabels)).toBe(true);
    expect(
      selects(manifests.networkPolicy('modelgate-api').podSelector.matchLabels, podLabels),
    ).toBe(true);
    // Only the API pods may reach Redis.
    const redisPeers = (manifests.networkPolicy('modelgate-redis').ingress ?? []).flatMap(
      (rule) => rule.from ?? [],
    );
    expect(redisPeers.map((peer) => selects(peer.podSelector?.matchLabels, podLabels))).toEqual([
      true,
    ]);
  });

  it('points API_REDIS_HOST and API_REDIS_PORT at the Redis Service, which selects the Redis pod', () => {
    const service = manifests.service(env.API_REDIS_HOST ?? '');
    const redisPod = manifests.deployment('modelgate-redis').template.metadata.labels;
    const redis = manifests.container('modelgate-redis', 'redis');

    expect(selects(service.selector, redisPod)).toBe(true);
    expect(service.ports[0].port).toBe(Number(env.API_REDIS_PORT));
    expect(portNumber(redis, service.ports[0].targetPort)).toBe(Number(env.API_REDIS_PORT));
    // Redis requires the password the API sends.
    expect(redis.args).toContain('--requirepass');
    expect(redis.env?.find((e) => e.name === 'API_REDIS_PASSWORD')?.valueFrom).toEqual({
      secretKeyRef: { name: manifests.secret(api).metadata.name, key: 'API_REDIS_PASSWORD' },
    });
  });

  it('lets the API pods reach the ports of MLflow, Airflow and Redis, and DNS', () => {
    const egressPorts = (manifests.networkPolicy('modelgate-api').egress ?? []).flatMap((rule) =>
      (rule.ports ?? []).map((p) => p.port),
    );

    expect(egressPorts).toEqual(
      expect.arrayContaining([
        53,
        Number(env.API_REDIS_PORT),
        urlPort(env.MLFLOW_TRACKING_URI),
        urlPort(env.AIRFLOW_BASE_URL),
      ]),
    );
  });

  it('runs both pods as non-root on a read-only root, the model cache on a volume', () => {
    const pod = manifests.deployment('modelgate-api').template.spec;
    const mounts = (api.volumeMounts ?? []).map((m) => m.mountPath);

    expect(pod.securityContext?.runAsNonRoot).toBe(true);
    expect(mounts.some((mount) => `${env.MODEL_CACHE_DIR}/`.startsWith(`${mount}/`))).toBe(true);
    for (const container of [api, manifests.container('modelgate-redis', 'redis')]) {
      expect(container.securityContext).toMatchObject({
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        capabilities: { drop: ['ALL'] },
      });
    }
  });
});

/** `GET /health/...` for every route of the controllers HealthModule registers. */
function healthRoutes(): string[] {
  const controllers = (Reflect.getMetadata(MODULE_METADATA.CONTROLLERS, HealthModule) ??
    []) as (new (...args: never[]) => object)[];
  return controllers.flatMap((controller) => {
    const base = String(Reflect.getMetadata(PATH_METADATA, controller) ?? '');
    const prototype = controller.prototype as Record<string, unknown>;
    return Object.getOwnPropertyNames(prototype).flatMap((key) => {
      const handler = prototype[key];
      if (typeof handler !== 'function' || key === 'constructor') return [];
      const method = Reflect.getMetadata(METHOD_METADATA, handler) as RequestMethod | undefined;
      const route = Reflect.getMetadata(PATH_METADATA, handler) as string | undefined;
      if (method === undefined || route === undefined) return [];
      return [`${RequestMethod[method]} ${path.posix.join('/', base, route)}`];
    });
  });
}

function urlPort(url: string | undefined): number {
  const parsed = new URL(url ?? '');
  return Number(parsed.port || (parsed.protocol === 'https:' ? 443 : 80));
}
