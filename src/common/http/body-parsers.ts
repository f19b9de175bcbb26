import {
  BadRequestException,
  CallHandler,
  ExecutionContext,
  Injectable,
  NestInterceptor,
  SetMetadata,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { PassThrough, Readable } from 'node:stream';
import { Observable } from 'rxjs';
import { BinaryTensorBody, INFERENCE_HEADER_CONTENT_LENGTH } from './binary-tensor-body';
import { sendErrorReply } from './error-reply';
import {
  OPEN_INFERENCE_INFER_ROUTE,
  OPEN_INFERENCE_ROUTE,
  SIGNED_BODY_ROUTE,
} from './protocol-routes';
import { keepRawBody } from './raw-body';
import { RefusedJson, parseStrictJson } from './safe-json';

/**
 * A JSON body JSON.parse refused. Most routes answer 400; the MLflow scoring
 * routes hand `text` to their own decoder, which also takes Python's NaN and
 * Infinity tokens, as MLflow's server does (Python clients send them).
 */
export class MalformedJsonBody {
  constructor(
    readonly reason: string,
    readonly text: string,
  ) {}
}

const LENIENT_JSON = 'modelgate:lenient-json';

/** Marks a route whose handler decodes malformed-looking JSON itself. */
export const LenientJson = (): MethodDecorator & ClassDecorator => SetMetadata(LENIENT_JSON, true);

export interface BodyLimits {
  /** Prediction routes (API_MAX_BODY_BYTES). */
  maxBodyBytes: number;
  /** Every other route (API_MAX_CONTROL_BODY_BYTES). */
  maxControlBodyBytes: number;
  /** JSON nesting (API_MAX_DEPTH). */
  maxDepth: number;
}

/** The routes that take prediction bodies: MLflow invocations and Open Inference infer. */
const PREDICTION_ROUTE =
  /^\/(?:invocations|v1\/models\/[^?#]+\/invocations|v2\/models\/[^?#]+\/infer)\/?(?:[?#]|$)/;

/** The body limit of the route a URL names. */
export function bodyLimitOf(url: string, limits: BodyLimits): number {
  return PREDICTION_ROUTE.test(url) ? limits.maxBodyBytes : limits.maxControlBodyBytes;
}

/**
 * Body parsing for every route. Fastify's own JSON parser answers a bad body
 * with its own error shape before our routes run; here a bad body reaches the
 * route's error filter, which answers in the caller's protocol (MLflow scoring
 * or Open Inference). On other routes CSV and any other content type arrive
 * as text, so the MLflow codec can parse CSV and answer 415 for the rest, as
 * MLflow does; Open Inference (`/v2`) bodies are JSON whatever their content
 * type, or a {@link BinaryTensorBody} on an infer route that declares one.
 *
 * Each route's body limit is enforced before the body is read (a declared
 * Content-Length) or while it is (a chunked body), answered 413 in the
 * route's format. JSON nesting is bounded before parsing, and keys that
 * could poison prototypes are refused (secure-json-parse, as Fastify does).
 */
export function registerBodyParsers(fastify: FastifyInstance, limits: BodyLimits): void {
  registerBodyLimits(fastify, limits);
  const json = (text: string): unknown => parseJsonBody(text, limits.maxDepth);
  fastify.removeContentTypeParser(['application/json', 'text/plain']);
  fastify.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
    keepIfSigned(request, body as Buffer);
    done(null, openInferenceBody(request, body as Buffer) ?? json(utf8(body)));
  });
  // Open Inference routes read JSON whatever the Content-Type (tritonclient
  // sends none, KServe's client application/octet-stream for the binary form).
  fastify.addContentTypeParser('*', { parseAs: 'buffer' }, (request, body, done) => {
    keepIfSigned(request, body as Buffer);
    const text = utf8(body);
    if (!OPEN_INFERENCE_ROUTE.test(request.url)) return done(null, text);
    done(null, openInferenceBody(request, body as Buffer) ?? json(text));
  });
}

/** A signed body (the MLflow webhook's) is verified over its bytes as sent, not as re-serialized. */
function keepIfSigned(request: FastifyRequest, body: Buffer): void {
  if (SIGNED_BODY_ROUTE.test(request.url)) keepRawBody(request, body);
}

/**
 * A body in the binary tensor data extension, when an infer route's request
 * says so with `Inference-Header-Content-Length`; its framing is the route's
 * to check.
 */
function openInferenceBody(request: FastifyRequest, body: Buffer): BinaryTensorBody | undefined {
  const headerLength = request.headers[INFERENCE_HEADER_CONTENT_LENGTH];
  if (headerLength === undefined || !OPEN_INFERENCE_INFER_ROUTE.test(request.url)) return undefined;
  return new BinaryTensorBody(
    body,
    Array.isArray(headerLength) ? headerLength.join(',') : headerLength,
  );
}

/** A JSON body as routes receive it: the value, a {@link RefusedJson}, a {@link MalformedJsonBody}, or undefined when empty. */
function parseJsonBody(text: string, maxDepth: number): unknown {
  if (text.length === 0) return undefined;
  const parsed = parseStrictJson(text, maxDepth);
  switch (parsed.kind) {
    case 'value':
      return parsed.value;
    case 'refused':
      return parsed.refused;
    case 'malformed':
      return new MalformedJsonBody(parsed.reason, text);
  }
}

function utf8(body: string | Buffer): string {
  return typeof body === 'string' ? body : body.toString('utf8');
}

/** Rejects a malformed JSON body before validation pipes see it, unless the route is lenient. */
@Injectable()
export class MalformedJsonInterceptor implements NestInterceptor {
  constructor(private readonly reflector: Reflector) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const body = context.switchToHttp().getRequest<FastifyRequest>().body;
    const lenient = this.reflector.getAllAndOverride<boolean>(LENIENT_JSON, [
      context.getHandler(),
      context.getClass(),
    ]);
    rejectMalformedJson(body, lenient === true);
    return next.handle();
  }
}

/**
 * What MalformedJsonInterceptor refuses, for routes Fastify calls directly: a
 * refused body (too deep, prototype poisoning) always, a malformed one unless
 * the route decodes it itself (`lenient`).
 * @throws BadRequestException
 */
export function rejectMalformedJson(body: unknown, lenient: boolean): void {
  if (body instanceof RefusedJson) throw new BadRequestException(body.reason);
  if (body instanceof MalformedJsonBody && !lenient) {
    // Nest's own 400 (BAD_REQUEST, the message as is): common/ knows no feature's errors.
    throw new BadRequestException(`the request body is not valid JSON: ${body.reason}`);
  }
}

/**
 * Per-route body limits in `preParsing` (after authentication and rate
 * limits, before a byte of the body is read). Nest cannot set Fastify's
 * per-route `bodyLimit`, and Fastify's own refusal would answer in its own
 * format; the adapter's global limit is the largest of ours, so this answers first.
 */
function registerBodyLimits(fastify: FastifyInstance, limits: BodyLimits): void {
  // Callback style, not async: a body with a Content-Length (nearly all) is
  // decided at once, and then costs no promise.
  fastify.addHook('preParsing', (request, reply, payload, done) => {
    const limit = bodyLimitOf(request.url, limits);
    // An answer sent from a callback hook ends the request: done is not called.
    const refuse = (): void => void refuseTooLarge(reply, request.url, limit);
    const declared = request.headers['content-length'];
    if (declared !== undefined) {
      if (Number(declared) > limit) return refuse();
      // Node's parser delivers exactly Content-Length bytes: Fastify checks the count.
      return done(null, payload);
    }
    if (request.headers['transfer-encoding'] === undefined) return done(null, payload);
    readWithin(payload, limit).then((body) => {
      if (body === undefined) return refuse();
      const replay = new PassThrough();
      replay.end(body);
      done(null, replay);
    }, done);
  });
}

function refuseTooLarge(reply: FastifyReply, url: string, limit: number): FastifyReply {
  const setting = PREDICTION_ROUTE.test(url) ? 'API_MAX_BODY_BYTES' : 'API_MAX_CONTROL_BODY_BYTES';
  // What the client still sends is discarded as it comes (Node drains an
  // unread body; readWithin leaves a chunked one flowing), within
  // API_REQUEST_TIMEOUT_MS: closing at once would reset the connection under a
  // client still writing, which then never reads this answer (nginx's
  // lingering close, for the same reason).
  return sendErrorReply(reply, url, {
    status: 413,
    code: 'REQUEST_LIMIT_EXCEEDED',
    message: `the request body is larger than this route's limit of ${limit} bytes (${setting})`,
  });
}

/** A chunked body, up to `limit` bytes; undefined as soon as it is larger (the rest is then discarded as it comes). */
function readWithin(payload: Readable, limit: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const stop = (): void => {
      payload.removeListener('data', onData);
      payload.removeListener('end', onEnd);
      payload.removeListener('error', onError);
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limit) {
        stop();
        chunks.length = 0;
        payload.resume();
        resolve(undefined);
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => {
      stop();
      resolve(Buffer.concat(chunks));
    };
    const onError = (error: Error): void => {
      stop();
      reject(error);
    };
    payload.on('data', onData);
    payload.on('end', onEnd);
    payload.on('error', onError);
  });
}
