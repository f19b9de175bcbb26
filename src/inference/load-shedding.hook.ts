import underPressure from '@fastify/under-pressure';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { sendErrorReply } from '../common/http/error-reply';

/**
 * Predictions, in every protocol: `/invocations`, `/v1/models/{ref}/invocations`,
 * `/v2/models/{name}[/versions/{v}]/infer`.
 */
const PREDICTION_ROUTE =
  /^\/(?:invocations|v1\/models\/.+\/invocations|v2\/models\/[^/?#]+(?:\/versions\/[^/?#]+)?\/infer)(?:[?#]|$)/;

/** under-pressure measures the loop once a second: by the next sample the lag may be gone. */
const SHED_RETRY_AFTER_SECONDS = 1;

export function isPredictionRoute(url: string): boolean {
  return PREDICTION_ROUTE.test(url);
}

/**
 * Sheds predictions while the event loop lags more than `maxEventLoopDelayMs`
 * (mean over under-pressure's last one-second sample): a 503 with
 * Retry-After in the route's protocol, so a balancer or client tries another
 * instance instead of queueing behind a loop that cannot answer. Everything
 * else goes through — above all probes: an instance that is slow is not dead,
 * and /health/live failing would get it restarted mid-recovery. 0 turns it off.
 */
export function registerLoadShedding(fastify: FastifyInstance, maxEventLoopDelayMs: number): void {
  if (maxEventLoopDelayMs <= 0) return;
  void fastify.register(underPressure, {
    maxEventLoopDelay: maxEventLoopDelayMs,
    pressureHandler: (request: FastifyRequest, reply: FastifyReply, _type, value) => {
      if (!isPredictionRoute(request.url)) return;
      void reply.header('retry-after', SHED_RETRY_AFTER_SECONDS);
      sendErrorReply(reply, request.url, {
        status: 503,
        code: 'TEMPORARILY_UNAVAILABLE',
        message: `overloaded: the event loop lags ${Math.round(value ?? 0)} ms (more than API_MAX_EVENT_LOOP_DELAY_MS=${maxEventLoopDelayMs}); retry in ${SHED_RETRY_AFTER_SECONDS} s`,
      });
    },
  });
}
