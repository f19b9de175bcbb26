import { HealthIndicatorService } from '@nestjs/terminus';
import { ClusterService, Membership } from '../cluster/cluster.service';
import { instanceRecord } from '../cluster/testing/instance-record';
import { InstanceRecord } from '../cluster/cluster.types';
import { ClusterConfig } from '../config/cluster.config';
import { HealthConfig } from '../config/health.config';
import { ClusterHealthIndicator } from './cluster.health';

function instance(
  id: string,
  version: string,
  status: InstanceRecord['status'] = 'ok',
): InstanceRecord {
  return instanceRecord(id, {
    status,
    models: [{ reference: 'iris@champion', version, state: 'ready' }],
    leases: id === 'api-1' ? ['model-refresh'] : [],
  });
}

describe(ClusterHealthIndicator.name, () => {
  let members: InstanceRecord[];
  let sut: ClusterHealthIndicator;

  beforeEach(() => {
    jest.useFakeTimers({ now: 1_800_000_000_000, doNotFake: ['nextTick', 'setImmediate'] });
    const cluster = {
      members: (): Promise<Membership> =>
        Promise.resolve({ instances: members, fresh: true, asOf: new Date() }),
    } as unknown as ClusterService;
    sut = new ClusterHealthIndicator(
      cluster,
      new HealthIndicatorService(),
      { skewGraceMs: 10_000 } as ClusterConfig,
      { timeoutMs: 5_000 } as HealthConfig,
    );
  });

  afterEach(() => jest.useRealTimers());

  it('is up with every instance, the leader and who serves which version', async () => {
    members = [instance('api-1', '2'), instance('api-2', '2')];

    const result = await sut.check();

    expect(result.cluster).toMatchObject({
      status: 'up',
      leader: 'api-1',
      versions: { 'iris@champion': { '2': ['api-1', 'api-2'] } },
    });
  });

  it('tolerates instances on different versions for the grace period (a reload in progress)', async () => {
    members = [instance('api-1', '3'), instance('api-2', '2')];

    expect((await sut.check()).cluster.status).toBe('up');
    jest.advanceTimersByTime(9_000);
    expect((await sut.check()).cluster.status).toBe('up');
  });

  it('reports version skew once it outlasts the grace period, naming the versions and instances', async () => {
    members = [instance('api-1', '3'), instance('api-2', '2'), instance('api-3', '2')];
    await sut.check();
    jest.advanceTimersByTime(10_000);

    const result = await sut.check();

    expect(result.cluster).toMatchObject({
      status: 'down',
      skew: [{ reference: 'iris@champion', versions: { '3': ['api-1'], '2': ['api-2', 'api-3'] } }],
      failure: { kind: 'version_skew' },
    });
    expect((result.cluster.failure as { message: string }).message).toContain(
      'iris@champion served as v2 by api-2, api-3; v3 by api-1',
    );
  });

  it('starts the grace period again once the instances agree', async () => {
    members = [instance('api-1', '3'), instance('api-2', '2')];
    await sut.check();
    jest.advanceTimersByTime(8_000);
    members = [instance('api-1', '3'), instance('api-2', '3')];
    await sut.check();
    members = [instance('api-1', '4'), instance('api-2', '3')];
    jest.advanceTimersByTime(8_000);

    expect((await sut.check()).cluster.status).toBe('up');
  });

  it('leaves draining instances out of the comparison', async () => {
    members = [instance('api-1', '3'), instance('api-2', '2', 'draining')];
    await sut.check();
    jest.advanceTimersByTime(20_000);

    expect((await sut.check()).cluster.status).toBe('up');
  });
});
