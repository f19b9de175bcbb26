import { createHmac } from 'node:crypto';
import {
  MlflowSignatureError,
  SignatureFailure,
  signMlflowDelivery,
  verifyMlflowDelivery as sut,
} from './mlflow-signature';

const SECRET = 'whsec-test-0123456789abcdef';
const DELIVERY = '6f1c2b3a-0d4e-4f5a-9b8c-7d6e5f4a3b2c';
const NOW = 1764651600;
const TIMESTAMP = String(NOW);
// As MLflow's delivery.py writes it: json.dumps with its default separators.
const BODY = Buffer.from(
  '{"entity": "model_version_alias", "action": "created", "timestamp": "2025-12-02T05:00:00+00:00", "data": {"name": "iris", "alias": "champion", "version": "3"}}',
);
/** Computed for these inputs with Python's hmac and base64, as MLflow's _generate_hmac_signature does. */
const PYTHON_SIGNATURE = 'v1,iW/hp92MUJQfebtRdbP4d85D6o+T5Y653U03Bo7Enqo=';

/** The spec's formula, written out here independently of the code under test. */
function specSignature(secret: string, id: string, ts: string, body: Buffer): string {
  const mac = createHmac('sha256', secret).update(`${id}.${ts}.${body.toString('utf8')}`);
  return `v1,${mac.digest('base64')}`;
}

const options = { secret: SECRET, toleranceSeconds: 300, nowSeconds: NOW };
const delivery = (overrides: Partial<Parameters<typeof sut>[0]> = {}) => ({
  signature: specSignature(SECRET, DELIVERY, TIMESTAMP, BODY),
  timestamp: TIMESTAMP,
  deliveryId: DELIVERY,
  body: BODY,
  ...overrides,
});

function failureOf(run: () => void): SignatureFailure | undefined {
  try {
    run();
    return undefined;
  } catch (error) {
    if (error instanceof MlflowSignatureError) return error.failure;
    throw error;
  }
}

describe('verifyMlflowDelivery', () => {
  it("accepts the signature MLflow's own algorithm gives (a vector from Python)", () => {
    expect(specSignature(SECRET, DELIVERY, TIMESTAMP, BODY)).toBe(PYTHON_SIGNATURE);
    expect(() => sut(delivery({ signature: PYTHON_SIGNATURE }), options)).not.toThrow();
  });

  it('signs as the spec says', () => {
    expect(signMlflowDelivery(SECRET, DELIVERY, TIMESTAMP, BODY)).toBe(PYTHON_SIGNATURE);
  });

  it('accepts a list of signatures when one matches (secret rotation)', () => {
    const other = specSignature('another-secret-0123456789', DELIVERY, TIMESTAMP, BODY);
    expect(() =>
      sut(delivery({ signature: `${other} ${PYTHON_SIGNATURE}` }), options),
    ).not.toThrow();
  });

  it('refuses a signature made with another secret', () => {
    const signature = specSignature('wrong-secret-0123456789', DELIVERY, TIMESTAMP, BODY);
    expect(failureOf(() => sut(delivery({ signature }), options))).toBe('mismatch');
  });

  it('refuses a tampered body, a changed delivery id and a changed timestamp', () => {
    const tampered = Buffer.from(BODY.toString().replace('"3"', '"4"'));
    expect(failureOf(() => sut(delivery({ body: tampered }), options))).toBe('mismatch');
    expect(failureOf(() => sut(delivery({ deliveryId: 'another-id' }), options))).toBe('mismatch');
    const later = String(NOW + 1);
    expect(failureOf(() => sut(delivery({ timestamp: later }), options))).toBe('mismatch');
  });

  it('refuses a body that differs only in whitespace: the raw bytes are signed', () => {
    const compact = Buffer.from(JSON.stringify(JSON.parse(BODY.toString())));
    expect(failureOf(() => sut(delivery({ body: compact }), options))).toBe('mismatch');
  });

  it('refuses timestamps outside the tolerance, either way, even when correctly signed', () => {
    for (const ts of [String(NOW - 301), String(NOW + 301)]) {
      const signature = specSignature(SECRET, DELIVERY, ts, BODY);
      expect(failureOf(() => sut(delivery({ timestamp: ts, signature }), options))).toBe('stale');
    }
    const edge = String(NOW - 300);
    const signature = specSignature(SECRET, DELIVERY, edge, BODY);
    expect(() => sut(delivery({ timestamp: edge, signature }), options)).not.toThrow();
  });

  it('names missing headers', () => {
    expect(() => sut(delivery({ signature: undefined }), options)).toThrow(/X-MLflow-Signature/);
    expect(failureOf(() => sut(delivery({ timestamp: '' }), options))).toBe('missing');
    expect(() => sut(delivery({ deliveryId: undefined }), options)).toThrow(/X-MLflow-Delivery-Id/);
  });

  it.each([
    ['another version', `v2,${PYTHON_SIGNATURE.slice(3)}`],
    ['no version', PYTHON_SIGNATURE.slice(3)],
    ['bad base64', 'v1,not-base64!'],
    ['too short', `v1,${Buffer.alloc(16).toString('base64')}`],
    ['hex instead of base64', `v1,${'ab'.repeat(32)}`],
  ])('refuses a malformed signature (%s)', (_, signature) => {
    expect(failureOf(() => sut(delivery({ signature }), options))).toBe('malformed');
  });

  it('refuses a timestamp that is not unix seconds, and a delivery id with odd characters', () => {
    expect(failureOf(() => sut(delivery({ timestamp: '2025-12-02T05:00:00Z' }), options))).toBe(
      'malformed',
    );
    expect(failureOf(() => sut(delivery({ deliveryId: 'a.b' }), options))).toBe('malformed');
  });
});
