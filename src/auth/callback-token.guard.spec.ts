import { ExecutionContext, UnauthorizedException } from '@nestjs/common';
import { FeatureDisabledError } from '../common/errors/feature-disabled.error';
import { TrainingConfig } from '../config/training.config';
import { CallbackTokenGuard } from './callback-token.guard';

const TOKEN = 'a-callback-token-of-some-length';

function contextWith(authorization?: string): ExecutionContext {
  const request = { headers: authorization === undefined ? {} : { authorization } };
  return { switchToHttp: () => ({ getRequest: () => request }) } as unknown as ExecutionContext;
}

function guard(callbackToken?: string): CallbackTokenGuard {
  const config: TrainingConfig = {
    defaultDagId: 'dag',
    dags: ['dag'],
    confKeys: new Map(),
    unpauseDag: true,
    callbackToken,

    mlflowWebhook: { secret: undefined, toleranceSeconds: 300, url: undefined },
  };
  return new CallbackTokenGuard(config);
}

describe(CallbackTokenGuard.name, () => {
  it('admits the configured bearer token', () => {
    expect(guard(TOKEN).canActivate(contextWith(`Bearer ${TOKEN}`))).toBe(true);
  });

  it.each([
    ['no Authorization header', undefined],
    ['a wrong token', 'Bearer not-the-token'],
    ['a prefix of the token', `Bearer ${TOKEN.slice(0, 10)}`],
    ['basic credentials', `Basic ${Buffer.from('a:b').toString('base64')}`],
  ])('refuses %s with 401', (_what, header) => {
    expect(() => guard(TOKEN).canActivate(contextWith(header))).toThrow(UnauthorizedException);
  });

  it('answers 503 naming API_CALLBACK_TOKEN when callbacks are not configured', () => {
    expect(() => guard(undefined).canActivate(contextWith(`Bearer ${TOKEN}`))).toThrow(
      new FeatureDisabledError(
        'callbacks are off: set API_CALLBACK_TOKEN on the API and in Airflow',
      ),
    );
  });
});
