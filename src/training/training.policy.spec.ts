import { ANONYMOUS, Principal } from '../auth/principal';
import { Scope } from '../common/scopes';
import { RETRAIN_DAG_CONF_KEYS, parseConfKeys } from '../config/training.config';
import { TrainingRequestError } from './training.errors';
import { TrainingPolicy } from './training.policy';

const caller = (...scopes: Scope[]): Principal => ({
  name: 'caller',
  kind: 'api-key',
  scopes: new Set(scopes),
});

const sut = new TrainingPolicy({
  dags: ['modelgate_retrain', 'nightly', 'bare'],
  confKeys: new Map([
    ...parseConfKeys(RETRAIN_DAG_CONF_KEYS),
    ...parseConfKeys('nightly:window=integer,tags=array,extra=object,anything'),
  ]),
});

function refusal(run: () => void): TrainingRequestError {
  try {
    run();
  } catch (error) {
    if (error instanceof TrainingRequestError) return error;
    throw error;
  }
  throw new Error('expected a refusal');
}

describe(TrainingPolicy.name, () => {
  describe('which DAGs', () => {
    it('answers a DAG that is not listed as absent, without naming the listed ones', () => {
      const error = refusal(() => sut.assertListed('smoke'));

      expect(error.code).toBe('unknown_dag');
      expect(error.message).toBe('no such training DAG: smoke');
    });

    it('lets every listed DAG through', () => {
      for (const dag of ['modelgate_retrain', 'nightly', 'bare']) {
        expect(() => sut.assertListed(dag)).not.toThrow();
      }
    });

    it('checks the DAG before the conf', () => {
      expect(refusal(() => sut.assertMayTrigger('smoke', { x: 1 }, ANONYMOUS)).code).toBe(
        'unknown_dag',
      );
    });
  });

  describe('which conf keys', () => {
    it('accepts the shipped DAG’s own params with the types its Params declare', () => {
      expect(() =>
        sut.assertMayTrigger(
          'modelgate_retrain',
          { C: 0.5, max_iter: 200, metric: 'f1_macro', experiment: 'e' },
          caller('train'),
        ),
      ).not.toThrow();
    });

    it('answers 400 naming every unknown key, and the accepted ones', () => {
      const error = refusal(() =>
        sut.assertMayTrigger('modelgate_retrain', { C: 1, gamma: 2, kernel: 'x' }, caller('train')),
      );

      expect(error.code).toBe('invalid_request');
      expect(error.message).toBe(
        'conf keys not accepted by modelgate_retrain: gamma, kernel ' +
          '(accepted: C, alias, experiment, flavor, force, max_iter, metric, model_name)',
      );
    });

    it('takes no conf at all for a listed DAG with no allow-list entry', () => {
      expect(() => sut.assertMayTrigger('bare', {}, caller('train'))).not.toThrow();
      expect(refusal(() => sut.assertMayTrigger('bare', { a: 1 }, caller('train'))).message).toBe(
        'conf keys not accepted by bare: a (it takes no conf)',
      );
    });

    it('names every value of the wrong type', () => {
      const error = refusal(() =>
        sut.assertMayTrigger(
          'modelgate_retrain',
          { C: '0.5', max_iter: 1.5, metric: 3 },
          caller('train'),
        ),
      );

      expect(error.code).toBe('invalid_request');
      expect(error.message).toBe(
        'conf.C must be a number; conf.max_iter must be an integer; conf.metric must be a string',
      );
    });

    it.each([
      ['window', 3, true],
      ['window', 3.5, false],
      ['tags', ['a'], true],
      ['tags', { a: 1 }, false],
      ['extra', { a: 1 }, true],
      ['extra', null, false],
      ['extra', [], false],
      ['anything', null, true],
      ['anything', { deep: [1] }, true],
    ])('checks %s = %j against its declared type (accepted: %s)', (key, value, ok) => {
      const check = () => sut.assertMayTrigger('nightly', { [key]: value }, caller('train'));
      if (ok) expect(check).not.toThrow();
      else expect(refusal(check).code).toBe('invalid_request');
    });
  });

  describe('what gets promoted', () => {
    it.each(['force', 'model_name', 'alias'])(
      'answers 403 naming the promote scope for %s without it',
      (key) => {
        const value = key === 'force' ? true : 'x';
        const error = refusal(() =>
          sut.assertMayTrigger('modelgate_retrain', { [key]: value }, caller('train')),
        );

        expect(error.code).toBe('missing_scope');
        expect(error.message).toBe(
          `conf ${key} changes what gets promoted: it needs the "promote" scope`,
        );
      },
    );

    it('lets promote, admin and the API_AUTH=off caller send promoting keys', () => {
      const conf = { force: true, model_name: 'm', alias: 'champion' };
      for (const who of [caller('train', 'promote'), caller('admin'), ANONYMOUS]) {
        expect(() => sut.assertMayTrigger('modelgate_retrain', conf, who)).not.toThrow();
      }
    });
  });
});
