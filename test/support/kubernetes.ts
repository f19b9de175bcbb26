import { getMetadataStorage } from 'class-validator';
import { loadAll } from 'js-yaml';
import type { Environment } from '../../src/config/env.validation';

/**
 * Rendered Kubernetes manifests (`kubectl kustomize` output), typed as far as
 * test/kubernetes-manifests.int-spec.ts reads them.
 */

export type Labels = Record<string, string>;

export interface Probe {
  httpGet?: { path: string; port: string | number };
}

export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: object;
}

export interface Container {
  name: string;
  args?: string[];
  ports?: { name?: string; containerPort: number }[];
  env?: EnvVar[];
  envFrom?: { configMapRef?: { name: string }; secretRef?: { name: string } }[];
  startupProbe?: Probe;
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  lifecycle?: { preStop?: { sleep?: { seconds: number } } };
  securityContext?: object;
  volumeMounts?: { name: string; mountPath: string }[];
}

export interface PodSpec {
  terminationGracePeriodSeconds?: number;
  securityContext?: { runAsNonRoot?: boolean };
  containers: Container[];
}

export interface Deployment {
  selector: { matchLabels: Labels };
  template: { metadata: { labels: Labels }; spec: PodSpec };
}

export interface ServicePort {
  name: string;
  port: number;
  targetPort: string | number;
  appProtocol?: string;
}

export interface Service {
  selector: Labels;
  ports: ServicePort[];
}

export interface Autoscaler {
  scaleTargetRef: { apiVersion: string; kind: string; name: string };
  minReplicas?: number;
}

export interface DisruptionBudget {
  selector: { matchLabels: Labels };
}

export interface PolicyPeer {
  podSelector?: { matchLabels?: Labels };
  namespaceSelector?: { matchLabels?: Labels };
}

export interface NetworkPolicy {
  podSelector: { matchLabels: Labels };
  ingress?: { from?: PolicyPeer[]; ports?: { port: string | number }[] }[];
  egress?: { to?: PolicyPeer[]; ports?: { port: string | number }[] }[];
}

interface Resource {
  kind: string;
  metadata: { name: string };
  spec?: unknown;
  data?: Record<string, string>;
}

export class Manifest {
  constructor(readonly resources: Resource[]) {}

  deployment(name: string): Deployment & { name: string } {
    return { name, ...(this.resource('Deployment', name).spec as Deployment) };
  }

  service(name: string): Service {
    return this.resource('Service', name).spec as Service;
  }

  autoscaler(name: string): Autoscaler {
    return this.resource('HorizontalPodAutoscaler', name).spec as Autoscaler;
  }

  disruptionBudget(name: string): DisruptionBudget {
    return this.resource('PodDisruptionBudget', name).spec as DisruptionBudget;
  }

  networkPolicy(name: string): NetworkPolicy {
    return this.resource('NetworkPolicy', name).spec as NetworkPolicy;
  }

  container(deployment: string, name: string): Container {
    const found = this.deployment(deployment).template.spec.containers.find((c) => c.name === name);
    if (!found) throw new Error(`Deployment ${deployment} has no container ${name}`);
    return found;
  }

  /** The ConfigMap a container takes its environment from (its generated, hashed name). */
  configMap(container: Container): Resource {
    const ref = container.envFrom?.find((from) => from.configMapRef)?.configMapRef?.name;
    return this.resource('ConfigMap', ref ?? '(no configMapRef)');
  }

  secret(container: Container): Resource {
    const ref = container.envFrom?.find((from) => from.secretRef)?.secretRef?.name;
    return this.resource('Secret', ref ?? '(no secretRef)');
  }

  private resource(kind: string, name: string): Resource {
    const found = this.resources.filter((r) => r.kind === kind && r.metadata.name === name);
    if (found.length !== 1) throw new Error(`${found.length} ${kind} named ${name}`);
    return found[0];
  }
}

export function loadManifests(yaml: string): Manifest {
  return new Manifest(loadAll(yaml).filter((doc): doc is Resource => doc !== null));
}

/** The environment a container starts with: its ConfigMap, its Secret (decoded), then its own literal values. */
export function envOf(manifests: Manifest, container: Container): Environment {
  const secret = Object.fromEntries(
    Object.entries(manifests.secret(container).data ?? {}).map(([key, value]) => [
      key,
      Buffer.from(value, 'base64').toString('utf8'),
    ]),
  );
  const own = Object.fromEntries(
    (container.env ?? []).filter((e) => e.value !== undefined).map((e) => [e.name, e.value]),
  );
  return { ...manifests.configMap(container).data, ...secret, ...own };
}

/** A container port by name or number, as a number. */
export function portNumber(container: Container, port: string | number | undefined): number {
  if (typeof port === 'number') return port;
  const found = container.ports?.find((p) => p.name === port);
  if (!found) throw new Error(`container ${container.name} has no port named ${port}`);
  return found.containerPort;
}

/** Whether a label selector (matchLabels or a Service's selector) picks pods with `labels`. */
export function selects(selector: Labels | undefined, labels: Labels): boolean {
  const wanted = Object.entries(selector ?? {});
  return wanted.length > 0 && wanted.every(([key, value]) => labels[key] === value);
}

type EnvironmentClass = new () => object;

/** Every variable the environment classes declare (their validated property names). */
export function knownVariables(classes: readonly EnvironmentClass[]): Set<string> {
  return new Set(
    classes.flatMap((cls) =>
      getMetadataStorage()
        .getTargetValidationMetadatas(cls, '', true, false)
        .map((m) => m.propertyName),
    ),
  );
}

/** A variable's default, from the first environment class that declares it. */
export function variableDefault(classes: readonly EnvironmentClass[], name: string): unknown {
  for (const cls of classes) {
    const instance = new cls() as Record<string, unknown>;
    if (name in instance) return instance[name];
  }
  return undefined;
}
