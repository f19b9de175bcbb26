import { Logger } from '@nestjs/common';
import { parseModelReference } from '../../common/model-reference';
import { RolloutSetting } from '../../config/rollout.config';
import { RegisteredModel } from '../../mlflow/mlflow.types';
import {
  FakeLoader,
  FakeResolver,
  RegistryParts,
  configServing,
  flush,
  registryOver,
} from '../testing/model-fakes';
import { bucketOf } from './rollout-policy';
import { Rollouts } from './rollouts.service';

/** The registered model's tags, as MLflow answers them. */
class FakeMlflow {
  tags: Record<string, string> = {};
  down = false;

  getRegisteredModel(name: string): Promise<RegisteredModel> {
    if (this.down) return Promise.reject(new Error('connection refused'));
    return Promise.resolve({ name, aliases: {}, latestVersions: [], tags: { ...this.tags } });
  }
}

describe(Rollouts.name, () => {
  const ROLLOUT: RolloutSetting = { name: 'iris', champion: 'champion', challenger: 'challenger' };
  const champion = parseModelReference('iris@champion');
  let resolver: FakeResolver;
  let loader: FakeLoader;
  let mlflow: FakeMlflow;
  let parts: RegistryParts;
  let sut: Rollouts;

  beforeAll(() => {
    Logger.overrideLogger(false);
  });

  async function start(settings: RolloutSetting[] = [ROLLOUT], canaryPercent = 25): Promise<void> {
    parts = registryOver(resolver, loader, configServing(['iris@champion']));
    sut = new Rollouts(
      parts.bindings,
      parts.reloader,
      parts.versions,
      mlflow,
      { models: settings, canaryPercent },
      { defaultAlias: 'champion' },
    );
    parts.registry.onApplicationBootstrap();
    sut.onApplicationBootstrap();
    await flush(10);
  }

  /** Caller keys whose bucket is below `percent`, and one that is not. */
  function keys(percent: number): { inside: string; outside: string } {
    const all = Array.from({ length: 500 }, (_, i) => `k${i}`);
    return {
      inside: all.find((k) => bucketOf('iris', k) < percent)!,
      outside: all.find((k) => bucketOf('iris', k) >= percent)!,
    };
  }

  beforeEach(() => {
    resolver = new FakeResolver();
    resolver.names.set('iris@champion', '1');
    resolver.names.set('iris@challenger', '2');
    loader = new FakeLoader();
    mlflow = new FakeMlflow();
  });

  it('loads the challenger of MODEL_ROLLOUT beside the champion, and shows both', async () => {
    await start();

    expect(loader.loaded.sort()).toEqual(['iris/1', 'iris/2']);
    expect(sut.view('iris')).toMatchObject({
      mode: 'canary',
      percent: 25,
      source: 'settings',
      champion: { alias: 'champion', reference: 'iris@champion', version: '1', state: 'ready' },
      challenger: { alias: 'challenger', reference: 'iris@challenger', version: '2' },
    });
  });

  it('answers the callers in the first `percent` buckets from the challenger, the others from the champion', async () => {
    await start();
    const { inside, outside } = keys(25);

    expect(sut.route(champion, () => inside)).toEqual({
      answer: parseModelReference('iris@challenger'),
      variant: 'challenger',
    });
    expect(sut.route(champion, () => outside)).toEqual({ answer: champion, variant: 'champion' });
  });

  it('routes a bare name the champion answers, but never a version or the challenger’s own alias', async () => {
    await start([ROLLOUT], 100);

    expect(sut.route(parseModelReference('iris'), () => 'k')?.variant).toBe('challenger');
    expect(sut.route(parseModelReference('iris/1'), () => 'k')).toBeUndefined();
    expect(sut.route(parseModelReference('iris@challenger'), () => 'k')).toBeUndefined();
    expect(sut.route(parseModelReference('other@champion'), () => 'k')).toBeUndefined();
  });

  it('never answers a bare name from the challenger’s binding', async () => {
    await start();

    expect(parts.bindings.answering(parseModelReference('iris'))?.key).toBe('iris@champion');
  });

  it('answers from the champion while the challenger cannot load, keeps it, and readiness does not wait for it', async () => {
    resolver.names.delete('iris@challenger');
    await start([ROLLOUT], 100);

    expect(sut.route(champion, () => 'k')).toEqual({ answer: champion, variant: 'champion' });
    expect(parts.bindings.get('iris@challenger')?.state).toBe('failed');
    expect(parts.registry.pinnedReady).toBe(true);

    // The alias set later: polling (reloadAll) retries the binding kept.
    resolver.names.set('iris@challenger', '2');
    await parts.registry.reloadAll('refresh job');

    expect(sut.route(champion, () => 'k')?.variant).toBe('challenger');
  });

  it('in shadow mode answers from the champion and names the challenger for the copy', async () => {
    await start([{ ...ROLLOUT, mode: 'shadow' }], 100);

    expect(sut.route(champion, () => 'k')).toEqual({
      answer: champion,
      variant: 'champion',
      shadow: parseModelReference('iris@challenger'),
    });
  });

  it('does not ask for the caller key when no caller can get the challenger', async () => {
    await start([ROLLOUT], 0);
    const key = jest.fn(() => 'k');

    sut.route(champion, key);

    expect(key).not.toHaveBeenCalled();
  });

  it('follows the tags read on the next resolution: another challenger, percent and mode', async () => {
    await start();
    resolver.names.set('iris@next', '3');
    mlflow.tags = {
      'modelgate.challenger': 'next',
      'modelgate.canary_percent': '50',
      'modelgate.shadow': 'true',
    };

    await sut.resolved({ reference: 'iris@champion', name: 'iris', version: '1', trigger: 'api' });
    await flush(10);

    expect(sut.view('iris')).toMatchObject({
      mode: 'shadow',
      percent: 50,
      source: 'settings+tags',
      challenger: { alias: 'next', version: '3' },
    });
    // The challenger no rollout names any more is let go.
    expect(parts.bindings.get('iris@challenger')).toBeUndefined();
    await flush(10);
    expect(loader.unloaded).toContain('iris/2');
  });

  it('starts a rollout from tags alone for a model served here', async () => {
    await start([]);
    mlflow.tags = { 'modelgate.challenger': 'challenger' };

    await sut.resolved({ reference: 'iris@champion', name: 'iris', version: '1', trigger: 'poll' });
    await flush(10);

    expect(sut.view('iris')).toMatchObject({ source: 'tags', percent: 25 });
    expect(parts.bindings.get('iris@challenger')?.model?.version).toBe('2');
  });

  it('keeps the rollout it follows when MLflow cannot be read, and says so', async () => {
    await start();
    mlflow.down = true;

    await sut.resolved({ reference: 'iris@champion', name: 'iris', version: '1', trigger: 'poll' });

    expect(sut.view('iris')).toMatchObject({
      challenger: { version: '2' },
      problems: ['tags not read: connection refused'],
    });
  });
});
