/**
 * A route that exists but is off, because the operator has not configured
 * what it needs (a hook without its secret): 503 with MLflow's
 * `FEATURE_DISABLED`, and a message naming the settings to set. Not a 404:
 * the route is in the OpenAPI document, and an operator testing a webhook
 * from MLflow would read 404 as a wrong URL.
 */
export class FeatureDisabledError extends Error {
  readonly code = 'FEATURE_DISABLED';

  constructor(message: string) {
    super(message);
    this.name = FeatureDisabledError.name;
  }
}
