import { Inject, Injectable } from '@nestjs/common';
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteHandlerMethod } from 'fastify';
import {
  MlflowScoringExceptionFilter,
  OpenInferenceExceptionFilter,
} from '../common/errors/error-filters';
import { BinaryTensorBody } from '../common/http/binary-tensor-body';
import { MalformedJsonBody, rejectMalformedJson } from '../common/http/body-parsers';
import { inSpanSync } from '../common/tracing/spans';
import { ModelReference, parseModelReference, versionReference } from '../common/model-reference';
import { LimitsConfig, limitsConfig } from '../config/limits.config';
import { modelParameters } from './binding/params';
import { decodeMlflowRequest } from './codecs/mlflow-scoring.codec';
import { encodeMlflowResponse } from './codecs/mlflow-scoring.encoder';
import {
  decodeBinaryInferRequest,
  decodeInferRequest,
  encodeInferAnswer,
  InferRequest,
  writeInferResponse,
} from './codecs/open-inference.codec';
import { INFERENCE_ERROR_MAP } from './inference.error-map';
import { InferenceService } from './inference.service';
import { InferenceResult } from './inference.types';
import { setModelHeaders } from './model-headers';
import { httpCaller } from './caller-key';
import { tracePrediction } from './prediction-span';
import { CancelSignal, responseCancelSignal } from './cancel-signal';

/** The error answers of each protocol's routes, for the controllers' @UseFilters and the direct routes alike. */
export const MLFLOW_SCORING_ERRORS = new MlflowScoringExceptionFilter(INFERENCE_ERROR_MAP);
export const OPEN_INFERENCE_ERRORS = new OpenInferenceExceptionFilter(INFERENCE_ERROR_MAP);

/** What a route's URL parameters name. */
type RefOf = (params: Record<string, string>) => ModelReference;

/** Fastify's `application/json` answer type, which it gives an object it serializes itself. */
const JSON_TYPE = 'application/json; charset=utf-8';

/**
 * The prediction routes of both protocols (MLflow `/invocations`,
 * `/v1/models/{ref}[/versions/{v}]/invocations`; Open Inference
 * `/v2/models/{name}[/versions/{v}]/infer`), answered here.
 *
 * The controllers declare these routes (the OpenAPI document is made of
 * their decorators) and call {@link score} and {@link infer}. On the HTTP
 * server, {@link registerPredictionRoutes} gives Fastify the handlers of
 * {@link handlerOf} instead of Nest's, so a prediction skips Nest's
 * per-request pipeline (interceptor and rxjs, pipes, parameter factories,
 * exception zone): everything else of the contract lives in Fastify hooks
 * and stays as it is (request ids and the access log, authentication and
 * scopes before the body is read, rate limits, load shedding, metrics, body
 * limits); the answer and its errors are what the controller's route would
 * give (the same malformed-JSON refusal as MalformedJsonInterceptor, the
 * same exception filter).
 */
@Injectable()
export class PredictionRoutes {
  private readonly handlers: ReadonlyMap<string, RouteHandlerMethod>;

  constructor(
    private readonly inference: InferenceService,
    @Inject(limitsConfig.KEY) private readonly limits: LimitsConfig,
  ) {
    const byName: RefOf = (p) => parseModelReference(p.ref);
    const byVersion: RefOf = (p) => versionReference(p.name, p.version);
    this.handlers = new Map([
      ['/invocations', this.mlflowRoute(() => this.inference.defaultReference())],
      ['/v1/models/:ref/invocations', this.mlflowRoute(byName)],
      ['/v1/models/:name/versions/:version/invocations', this.mlflowRoute(byVersion)],
      ['/v2/models/:name/infer', this.inferRoute((p) => parseModelReference(p.name))],
      ['/v2/models/:name/versions/:version/infer', this.inferRoute(byVersion)],
    ]);
  }

  /** The direct handler of a prediction route (POST with the controllers' pattern); undefined for any other. */
  handlerOf(method: string | string[], url: string): RouteHandlerMethod | undefined {
    return method === 'POST' ? this.handlers.get(url) : undefined;
  }

  /**
   * An MLflow scoring request: the answer is JSON text written as MLflow's
   * server writes it (NaN, Infinity included).
   */
  async score(
    ref: ModelReference,
    body: unknown,
    reply: FastifyReply,
    contentType: string | undefined,
    signal?: CancelSignal,
  ): Promise<string> {
    return tracePrediction('mlflow-scoring', ref, async (answered) => {
      const raw = body instanceof MalformedJsonBody ? body.text : body;
      const { input, params } = inSpanSync('decode', {}, () =>
        decodeMlflowRequest(raw, contentType, this.limits),
      );
      const result = await this.inference.infer(ref, input, {
        params,
        signal,
        caller: httpCaller(reply.request),
      });
      answered(result);
      setModelHeaders(reply, result);
      void reply.type('application/json');
      return inSpanSync('encode', {}, () => encodeMlflowResponse(result, input));
    });
  }

  /**
   * An Open Inference infer request: its JSON answer as text (written from
   * the output buffers), or one with binary outputs as its JSON header, then
   * their bytes.
   */
  async infer(
    ref: ModelReference,
    body: unknown,
    reply: FastifyReply,
    signal?: CancelSignal,
  ): Promise<string | Buffer> {
    return tracePrediction('open-inference-rest', ref, async (answered) => {
      const request = inSpanSync('decode', {}, () =>
        body instanceof BinaryTensorBody
          ? decodeBinaryInferRequest(body, this.limits)
          : decodeInferRequest(body, this.limits),
      );
      const result = await this.inference.infer(ref, request.input, {
        outputs: request.requestedOutputs,
        params: modelParameters(request.parameters),
        signal,
      });
      answered(result);
      setModelHeaders(reply, result);
      return inSpanSync('encode', {}, () => this.encodeInfer(result, request, reply));
    });
  }

  private encodeInfer(
    result: InferenceResult,
    request: InferRequest,
    reply: FastifyReply,
  ): string | Buffer {
    const text = writeInferResponse(result, request);
    if (text !== undefined) {
      void reply.type(JSON_TYPE);
      return text;
    }
    const { body: header, binary } = encodeInferAnswer(result, request);
    const bytes = Buffer.from(JSON.stringify(header), 'utf8');
    void reply
      .header('Inference-Header-Content-Length', String(bytes.length))
      .type('application/octet-stream');
    return Buffer.concat([bytes, ...binary]);
  }

  private mlflowRoute(refOf: RefOf): RouteHandlerMethod {
    return (request, reply) =>
      this.answer(request, reply, MLFLOW_SCORING_ERRORS, (signal) => {
        // MLflow's decoder reads malformed-looking JSON itself (NaN, Infinity).
        rejectMalformedJson(request.body, true);
        const contentType = request.headers['content-type'];
        return this.score(refOf(paramsOf(request)), request.body, reply, contentType, signal);
      });
  }

  private inferRoute(refOf: RefOf): RouteHandlerMethod {
    return (request, reply) =>
      this.answer(request, reply, OPEN_INFERENCE_ERRORS, (signal) => {
        rejectMalformedJson(request.body, false);
        return this.infer(refOf(paramsOf(request)), request.body, reply, signal);
      });
  }

  private async answer(
    request: FastifyRequest,
    reply: FastifyReply,
    errors: MlflowScoringExceptionFilter | OpenInferenceExceptionFilter,
    compute: (signal: CancelSignal) => Promise<string | Buffer>,
  ): Promise<FastifyReply> {
    // The client went away before its answer: a request still queued for the
    // batcher is dropped instead of run.
    let payload: string | Buffer;
    try {
      payload = await compute(responseCancelSignal(reply.raw));
    } catch (error) {
      errors.answer(error, request, reply);
      return reply;
    }
    return reply.send(payload);
  }
}

function paramsOf(request: FastifyRequest): Record<string, string> {
  return request.params as Record<string, string>;
}

/**
 * Gives Fastify the direct handlers of {@link PredictionRoutes} for the
 * prediction routes Nest registers (Fastify's `onRoute` hook lets a route's
 * options be changed as it is added): same method, URL, constraints and
 * hooks, another handler. Called before the app is initialised (routes are
 * added at init).
 */
export function registerPredictionRoutes(fastify: FastifyInstance, routes: PredictionRoutes): void {
  fastify.addHook('onRoute', (route) => {
    const handler = routes.handlerOf(route.method, route.url ?? '');
    if (handler) route.handler = handler;
  });
}
