import { BadRequestException, ExecutionContext, UnauthorizedException } from '@nestjs/common';
import { FeatureDisabledError } from '../common/errors/feature-disabled.error';
import { keepRawBody } from '../common/http/raw-body';
import { signMlflowDelivery } from './mlflow-signature';
import { MlflowWebhookGuard } from './mlflow-webhook.guard';

const SECRET = 'guard-secret-0123456789abcdef';
const BODY = Buffer.from('{"entity": "model_version", "action": "created", "data": {}}');

function contextWith(headers: Record<string, string>, body = BODY): ExecutionContext {
  const request = { headers, raw: {} };
  keepRawBody(request as never, body);
  return { switchToHttp: () => ({ getRequest: () => request }) } as unknown as ExecutionContext;
}

function signed(overrides: Record<string, string> = {}): Record<string, string> {
  const id = 'delivery-1';
  const ts = String(Math.floor(Date.now() / 1000));
  return {
    'x-mlflow-delivery-id': id,
    'x-mlflow-timestamp': ts,
    'x-mlflow-signature': signMlflowDelivery(SECRET, id, ts, BODY),
    ...overrides,
  };
}

const guard = (secret?: string) =>
  new MlflowWebhookGuard({ mlflowWebhook: { secret, toleranceSeconds: 300, url: undefined } });

describe(MlflowWebhookGuard.name, () => {
  it('admits a delivery signed over the raw body with MLFLOW_WEBHOOK_SECRET', () => {
    expect(guard(SECRET).canActivate(contextWith(signed()))).toBe(true);
  });

  it('is off (503) without MLFLOW_WEBHOOK_SECRET, even for a signed delivery', () => {
    expect(() => guard(undefined).canActivate(contextWith(signed()))).toThrow(FeatureDisabledError);
  });

  it('answers 401 for a wrong signature, a stale timestamp or none at all', () => {
    const sut = guard(SECRET);
    const tampered = contextWith(signed(), Buffer.from(`${BODY.toString()} `));
    expect(() => sut.canActivate(tampered)).toThrow(UnauthorizedException);
    const old = String(Math.floor(Date.now() / 1000) - 301);
    const stale = signed({
      'x-mlflow-timestamp': old,
      'x-mlflow-signature': signMlflowDelivery(SECRET, 'delivery-1', old, BODY),
    });
    expect(() => sut.canActivate(contextWith(stale))).toThrow(UnauthorizedException);
    expect(() => sut.canActivate(contextWith({}))).toThrow(UnauthorizedException);
  });

  it('answers 400 for a malformed signature header', () => {
    expect(() =>
      guard(SECRET).canActivate(contextWith(signed({ 'x-mlflow-signature': 'v1,short' }))),
    ).toThrow(BadRequestException);
  });
});
