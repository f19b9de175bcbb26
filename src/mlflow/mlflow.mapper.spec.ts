import { MlflowMapper as sut } from './mlflow.mapper';

describe('MlflowMapper', () => {
  describe('modelVersion', () => {
    it('takes the MLflow 3 logged-model id from a models:/m-… source', () => {
      const version = sut.modelVersion({ name: 'iris', version: '3', source: 'models:/m-abc' });

      expect(version.modelId).toBe('m-abc');
    });

    it('prefers an explicit model_id over the source', () => {
      const version = sut.modelVersion({
        name: 'iris',
        version: '3',
        source: 'models:/m-abc',
        model_id: 'm-explicit',
      });

      expect(version.modelId).toBe('m-explicit');
    });

    it('has no model id for an MLflow 2.x run source', () => {
      const version = sut.modelVersion({
        name: 'iris',
        version: '1',
        source: 'runs:/abc/model',
      });

      expect(version.modelId).toBeUndefined();
    });

    it('fills the defaults of fields MLflow omits when empty', () => {
      expect(sut.modelVersion({ name: 'iris', version: '1' })).toEqual({
        name: 'iris',
        version: '1',
        stage: 'None',
        status: 'READY',
        source: undefined,
        runId: undefined,
        modelId: undefined,
        aliases: [],
        tags: {},
        description: undefined,
        createdAt: undefined,
        updatedAt: undefined,
      });
    });

    it('reads timestamps sent as strings', () => {
      const version = sut.modelVersion({
        name: 'iris',
        version: '1',
        creation_timestamp: '1700000000000' as unknown as number,
      });

      expect(version.createdAt).toEqual(new Date(1_700_000_000_000));
    });
  });

  describe('metric', () => {
    it.each([
      ['NaN', NaN],
      ['Infinity', Infinity],
      ['-Infinity', -Infinity],
      [0.25, 0.25],
    ])('reads the value %p', (value, expected) => {
      expect(sut.metric({ key: 'm', value }).value).toBe(expected);
    });

    it('defaults a missing step to 0', () => {
      expect(sut.metric({ key: 'm', value: 1 }).step).toBe(0);
    });
  });

  describe('run', () => {
    it('takes the 2.x run_uuid when run_id is absent', () => {
      expect(sut.run({ info: { run_uuid: 'old', experiment_id: '1' } }).runId).toBe('old');
    });

    it('keeps the latest-value metrics by key', () => {
      const run = sut.run({
        info: { run_id: 'r', experiment_id: '1' },
        data: { metrics: [{ key: 'acc', value: '0.5' }] },
      });

      expect(run.metrics).toEqual({ acc: 0.5 });
      expect(run.params).toEqual({});
      expect(run.tags).toEqual({});
    });
  });

  describe('registeredModel', () => {
    it('turns the alias list into an alias → version map', () => {
      const model = sut.registeredModel({
        name: 'iris',
        aliases: [
          { alias: 'champion', version: '3' },
          { alias: 'challenger', version: '4' },
        ],
      });

      expect(model.aliases).toEqual({ champion: '3', challenger: '4' });
    });
  });
});
