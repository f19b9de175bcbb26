import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * MLflow's registry webhook signature (mlflow/webhooks/delivery.py, MLflow
 * 3.3+, the Standard Webhooks scheme): `X-MLflow-Signature: v1,<base64
 * HMAC-SHA256 of "{delivery id}.{timestamp}.{raw body}">` with the webhook's
 * secret; `X-MLflow-Timestamp` is unix seconds, `X-MLflow-Delivery-Id` a UUID.
 */
export const MLFLOW_SIGNATURE_HEADER = 'x-mlflow-signature';
export const MLFLOW_TIMESTAMP_HEADER = 'x-mlflow-timestamp';
export const MLFLOW_DELIVERY_ID_HEADER = 'x-mlflow-delivery-id';

/** Why a delivery was refused; the edge maps `malformed` to 400, the rest to 401. */
export type SignatureFailure = 'missing' | 'malformed' | 'stale' | 'mismatch';

export class MlflowSignatureError extends Error {
  constructor(
    readonly failure: SignatureFailure,
    message: string,
  ) {
    super(message);
    this.name = MlflowSignatureError.name;
  }
}

export interface SignedDelivery {
  /** The three headers as received (undefined when absent). */
  signature?: string;
  timestamp?: string;
  deliveryId?: string;
  /** The body exactly as it arrived: the signature covers these bytes. */
  body: Buffer;
}

export interface VerifyOptions {
  secret: string;
  /** How far the timestamp may be from `nowSeconds`, either way. */
  toleranceSeconds: number;
  nowSeconds?: number;
}

/** The signature MLflow sends for this content: `v1,<base64>`. */
export function signMlflowDelivery(
  secret: string,
  deliveryId: string,
  timestamp: string,
  body: Buffer | string,
): string {
  return `v1,${digest(secret, deliveryId, timestamp, body).toString('base64')}`;
}

/**
 * Checks one delivery: the headers are there and well formed, the timestamp
 * is within the tolerance, and one `v1` signature of the header (a
 * space-separated list, as Standard Webhooks allows during secret rotation)
 * matches, compared in constant time. Throws {@link MlflowSignatureError}
 * naming what is wrong, never the expected value.
 */
export function verifyMlflowDelivery(delivery: SignedDelivery, options: VerifyOptions): void {
  const { signature, timestamp, deliveryId } = delivery;
  const missing = [
    [signature, 'X-MLflow-Signature'],
    [timestamp, 'X-MLflow-Timestamp'],
    [deliveryId, 'X-MLflow-Delivery-Id'],
  ]
    .filter(([value]) => value === undefined || value === '')
    .map(([, name]) => name);
  if (missing.length > 0) {
    throw new MlflowSignatureError(
      'missing',
      `unsigned delivery: ${missing.join(', ')} missing (create the webhook with a secret)`,
    );
  }
  if (!/^\d{1,12}$/.test(timestamp!)) {
    throw new MlflowSignatureError('malformed', 'X-MLflow-Timestamp must be unix seconds');
  }
  if (!/^[\w-]{1,128}$/.test(deliveryId!)) {
    throw new MlflowSignatureError(
      'malformed',
      'X-MLflow-Delivery-Id must be 1 to 128 letters, digits, "-" or "_"',
    );
  }
  const given = signature!
    .split(' ')
    .filter((entry) => entry !== '')
    .map(parseSignature);
  if (given.every((entry) => entry === undefined)) {
    throw new MlflowSignatureError(
      'malformed',
      'X-MLflow-Signature must read v1,<base64 of 32 bytes>',
    );
  }
  const now = options.nowSeconds ?? Math.floor(Date.now() / 1000);
  const age = now - Number(timestamp);
  if (Math.abs(age) > options.toleranceSeconds) {
    throw new MlflowSignatureError(
      'stale',
      `X-MLflow-Timestamp is ${age} s from this server's clock (more than ` +
        `${options.toleranceSeconds} s, MLFLOW_WEBHOOK_TOLERANCE_SECONDS): a replay or a clock to fix`,
    );
  }
  const expected = digest(options.secret, deliveryId!, timestamp!, delivery.body);
  // Every entry is compared, so the time taken does not say which one matched.
  let matched = false;
  for (const entry of given) {
    if (entry !== undefined && timingSafeEqual(entry, expected)) matched = true;
  }
  if (!matched) {
    throw new MlflowSignatureError(
      'mismatch',
      'X-MLflow-Signature does not match the body: the webhook secret differs from MLFLOW_WEBHOOK_SECRET, or the body was changed',
    );
  }
}

function digest(secret: string, deliveryId: string, timestamp: string, body: Buffer | string) {
  return createHmac('sha256', secret).update(`${deliveryId}.${timestamp}.`).update(body).digest();
}

/** `v1,<base64>` → the 32 bytes; undefined for another version or a bad encoding. */
function parseSignature(entry: string): Buffer | undefined {
  const match = /^v1,([A-Za-z0-9+/]{43}=)$/.exec(entry);
  if (!match) return undefined;
  const bytes = Buffer.from(match[1], 'base64');
  return bytes.length === 32 ? bytes : undefined;
}
