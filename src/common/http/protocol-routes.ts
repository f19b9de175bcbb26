/** URL patterns of protocols whose routes are treated alike before a controller runs. */

/** Every Open Inference route (`/v2…`): errors as `{"error"}`, bodies JSON whatever the Content-Type says. */
export const OPEN_INFERENCE_ROUTE = /^\/v2(?:[/?#]|$)/;

/** Open Inference infer routes, the only ones that take the binary tensor data extension. */
export const OPEN_INFERENCE_INFER_ROUTE = /^\/v2\/models\/[^?#]+\/infer\/?(?:[?#]|$)/;
