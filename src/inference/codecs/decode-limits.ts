import { LimitsEnvironment } from '../../config/limits.config';
import { InvalidInputError } from '../inference.error';

/** What a decoder may build from one body: checked before the values are allocated. */
export interface DecodeLimits {
  /** Values the request may decode to (API_MAX_ELEMENTS). */
  maxElements: number;
  /** Nesting of lists (API_MAX_DEPTH). */
  maxDepth: number;
}

const defaults = new LimitsEnvironment();

/** The limits of the default configuration, for callers that have no configuration. */
export const DEFAULT_DECODE_LIMITS: DecodeLimits = {
  maxElements: defaults.API_MAX_ELEMENTS,
  maxDepth: defaults.API_MAX_DEPTH,
};

/** Refuses `count` values of `what` when they exceed the cap. */
export function checkElementCount(
  count: number | bigint,
  what: string,
  limits: DecodeLimits,
  field?: string,
): void {
  if (count > limits.maxElements) {
    throw new InvalidInputError(
      `${what} holds ${count} values, more than the ${limits.maxElements} one request may carry (API_MAX_ELEMENTS)`,
      field,
    );
  }
}

/** The message for lists nested deeper than the limit. */
export function tooDeepError(
  what: string,
  limits: DecodeLimits,
  field?: string,
): InvalidInputError {
  return new InvalidInputError(
    `${what} nests lists deeper than ${limits.maxDepth} levels (API_MAX_DEPTH=${limits.maxDepth})`,
    field,
  );
}
