import { availableParallelism } from 'node:os';
import { ConfigValidationError, assertValidEnvironment } from './env.validation';
import { ENVIRONMENT_CLASSES } from './environment';
import { instanceIdOf } from './cluster.config';
import { modelsConfig } from './models.config';
import { applyHeapSettings, defaultIntraOpThreads, readWorkerSettings } from './workers.config';

describe('API_WORKERS', () => {
  it('is one process, no cluster, by default', () => {
    expect(readWorkerSettings({}, 8)).toEqual({
      count: 1,
      number: undefined,
      scheduling: 'os',
      cores: 8,
      heapGrowthPercent: 50,
    });
  });

  it('takes a number of processes, or auto for one per available core', () => {
    expect(readWorkerSettings({ API_WORKERS: '4' }, 8).count).toBe(4);
    expect(readWorkerSettings({ API_WORKERS: 'auto' }, 8).count).toBe(8);
    expect(readWorkerSettings({ API_WORKERS: ' AUTO ' }, 2).count).toBe(2);
  });

  it.each(['0', '-1', '2.5', 'many', '257', '1000'])(
    'refuses API_WORKERS=%s at start, naming the key and never the value',
    (value) => {
      const check = () => assertValidEnvironment(ENVIRONMENT_CLASSES, { API_WORKERS: value });
      expect(check).toThrow(ConfigValidationError);
      expect(check).toThrow(
        /API_WORKERS must be auto or a whole number of processes from 1 to 256/,
      );
    },
  );

  it('lets the kernel spread connections by default, and refuses an unknown scheduling', () => {
    expect(readWorkerSettings({ API_WORKER_SCHEDULING: 'round-robin' }, 2).scheduling).toBe(
      'round-robin',
    );
    expect(() =>
      assertValidEnvironment(ENVIRONMENT_CLASSES, { API_WORKER_SCHEDULING: 'random' }),
    ).toThrow(/API_WORKER_SCHEDULING must be one of os, round-robin/);
  });

  it("reads a worker's slot from what its primary set", () => {
    expect(readWorkerSettings({ API_WORKERS: '2', MODELGATE_WORKER_NUMBER: '2' }, 2).number).toBe(
      2,
    );
  });
});

describe('defaultIntraOpThreads', () => {
  it("keeps onnxruntime's own default (0) for a single process", () => {
    expect(defaultIntraOpThreads({ count: 1, cores: 16 })).toBe(0);
  });

  it('shares the cores out among the workers, at least one thread each', () => {
    expect(defaultIntraOpThreads({ count: 4, cores: 16 })).toBe(4);
    expect(defaultIntraOpThreads({ count: 3, cores: 8 })).toBe(2);
    expect(defaultIntraOpThreads({ count: 4, cores: 2 })).toBe(1);
  });
});

describe('instanceIdOf', () => {
  it('names a worker by the instance and its slot', () => {
    expect(instanceIdOf({ API_INSTANCE_ID: 'api-1' }, { number: 2 })).toBe('api-1:w2');
    expect(instanceIdOf({ API_INSTANCE_ID: 'api-1' }, {})).toBe('api-1');
  });

  it("uses the primary's pid for a worker's host part, so the workers of a host share it", () => {
    expect(instanceIdOf({}, { number: 1 })).toMatch(new RegExp(`-${process.ppid}:w1$`));
    expect(instanceIdOf({}, {})).toMatch(new RegExp(`-${process.pid}$`));
  });
});

describe('ONNX_INTRA_OP_THREADS with API_WORKERS', () => {
  const saved = process.env;
  afterEach(() => (process.env = saved));

  it('defaults to the cores shared out among the workers, and an explicit value wins', () => {
    const cores = availableParallelism();
    process.env = { API_WORKERS: '2' };
    expect(modelsConfig().onnx.intraOpThreads).toBe(Math.max(1, Math.floor(cores / 2)));
    process.env = { API_WORKERS: '2', ONNX_INTRA_OP_THREADS: '0' };
    expect(modelsConfig().onnx.intraOpThreads).toBe(0);
    process.env = { ONNX_INTRA_OP_THREADS: '3' };
    expect(modelsConfig().onnx.intraOpThreads).toBe(3);
    process.env = {};
    expect(modelsConfig().onnx.intraOpThreads).toBe(0);
  });
});

describe('API_HEAP_GROWTH_PERCENT', () => {
  it('sets V8 heap growing percent, 50 by default, and leaves V8 its own choice at 0', () => {
    const flags: string[] = [];
    applyHeapSettings(readWorkerSettings({}, 2), (f) => flags.push(f));
    applyHeapSettings(readWorkerSettings({ API_HEAP_GROWTH_PERCENT: '120' }, 2), (f) =>
      flags.push(f),
    );
    applyHeapSettings(readWorkerSettings({ API_HEAP_GROWTH_PERCENT: '0' }, 2), (f) =>
      flags.push(f),
    );
    expect(flags).toEqual(['--heap-growing-percent=50', '--heap-growing-percent=120']);
  });

  it.each(['-1', '401', '12.5', 'lots'])('refuses API_HEAP_GROWTH_PERCENT=%s at start', (value) => {
    expect(() =>
      assertValidEnvironment(ENVIRONMENT_CLASSES, { API_HEAP_GROWTH_PERCENT: value }),
    ).toThrow(/API_HEAP_GROWTH_PERCENT must be a whole number of percent from 0 to 400/);
  });
});
