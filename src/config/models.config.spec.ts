import { ConfigValidationError, assertValidEnvironment } from './env.validation';
import {
  ModelsEnvironment,
  modelsConfig,
  parseBatchOverrides,
  parseModelList,
} from './models.config';

describe('MODELS', () => {
  const original = process.env;

  afterEach(() => {
    process.env = original;
  });

  function problemsOf(models: string): string {
    try {
      assertValidEnvironment([ModelsEnvironment], { MODELS: models });
    } catch (error) {
      if (error instanceof ConfigValidationError) return error.message;
      throw error;
    }
    return '';
  }

  it('is parsed once, at start, into the references the routes use', () => {
    process.env = { MODELS: ' models:/iris@champion , models:/wine/3,models:/fraud/Production' };

    expect(modelsConfig().models).toEqual([
      { name: 'iris', selector: { kind: 'alias', alias: 'champion' } },
      { name: 'wine', selector: { kind: 'version', version: '3' } },
      { name: 'fraud', selector: { kind: 'stage', stage: 'Production' } },
    ]);
  });

  it('is an empty list when unset', () => {
    process.env = {};

    expect(modelsConfig().models).toEqual([]);
  });

  it('refuses a reference the parser cannot read, which the old regex let through', () => {
    expect(problemsOf('models:/a/b/c')).toContain('MODELS must be comma-separated model URIs');
    expect(problemsOf('models:/iris@champion,models:/bad name/1')).toContain('MODELS');
    expect(problemsOf('models:/iris@')).toContain('MODELS');
  });

  it('refuses an entry without the models:/ scheme', () => {
    expect(problemsOf('iris@champion')).toContain('MODELS');
  });

  it('names the variable and the rule, never the value', () => {
    const message = problemsOf('models:/SECRET-MARK/x/y');

    expect(message).toContain('MODELS must be');
    expect(message).toContain('models:/name@alias');
    expect(message).not.toContain('SECRET-MARK');
  });

  it('refuses to start the app with a bad reference: modelsConfig throws, naming MODELS', () => {
    process.env = { MODELS: 'models:/a/b/c' };

    expect(() => modelsConfig()).toThrow(ConfigValidationError);
    expect(() => modelsConfig()).toThrow(/MODELS/);
  });

  it('accepts what it parses', () => {
    expect(problemsOf('models:/iris@champion,models:/other/3')).toBe('');
    expect(parseModelList('models:/iris/latest')).toEqual([
      { name: 'iris', selector: { kind: 'latest' } },
    ]);
  });
});

describe('parseBatchOverrides', () => {
  it('reads name:maxSize[,delayMs] entries', () => {
    expect(parseBatchOverrides(' forest:512,5; ranker:0 ;')).toEqual({
      forest: { maxRows: 512, maxDelayMs: 5 },
      ranker: { maxRows: 0 },
    });
    expect(parseBatchOverrides(undefined)).toEqual({});
  });
});

describe('MODEL_BATCH_*', () => {
  const original = process.env;

  afterEach(() => {
    process.env = original;
  });

  it('reads the defaults and the per-model entries into `batching`', () => {
    process.env = { MODEL_BATCH_QUEUE: '8', MODEL_BATCH: 'forest:512,5' };

    expect(modelsConfig().batching).toEqual({
      maxRows: 256,
      maxDelayMs: 2,
      maxQueued: 8,
      models: { forest: { maxRows: 512, maxDelayMs: 5 } },
    });
  });

  it('refuses a MODEL_BATCH that is not name:maxSize[,delayMs] entries, naming the form', () => {
    process.env = { MODEL_BATCH: 'forest=512' };

    expect(() => modelsConfig()).toThrow(/MODEL_BATCH must look like name:maxSize\[,delayMs\]/);
  });
});
