/** URL patterns of protocols whose routes are treated alike before a controller runs. */

/** Every Open Inference route (`/v2…`): errors as `{"error"}`, bodies JSON whatever the Content-Type says. */
export const OPEN_INFERENCE_ROUTE = /^\/v2(?:[/?#]|$)/;

/** Open Inference infer routes, the only ones that take the binary tensor data extension. */
export const OPEN_INFERENCE_INFER_ROUTE = /^\/v2\/models\/[^?#]+\/infer\/?(?:[?#]|$)/;

/** Routes whose body is signed as sent (the MLflow webhook): their raw bytes are kept, see raw-body.ts. */
export const SIGNED_BODY_ROUTE = /^\/v1\/hooks\/mlflow\/?(?:[?#]|$)/;
