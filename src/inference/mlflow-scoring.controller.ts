import {
  applyDecorators,
  Body,
  Controller,
  Get,
  Headers,
  HttpCode,
  Inject,
  Param,
  Post,
  Res,
  UseFilters,
} from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { LimitsConfig, limitsConfig } from '../config/limits.config';
import {
  ApiAnswer,
  ApiCredentials,
  ApiErrors,
  ApiJsonAnswer,
} from '../common/openapi/api-errors.decorator';
import { ApiRequestBody } from '../common/openapi/api-request-body.decorator';
import type { FastifyReply } from 'fastify';
import { MlflowScoringExceptionFilter } from '../common/errors/error-filters';
import { LenientJson, MalformedJsonBody } from '../common/http/body-parsers';
import { SERVICE_VERSION } from '../common/version';
import { ModelNotReadyError } from '../models/model.errors';
import { ModelReference, parseModelReference, versionReference } from '../common/model-reference';
import { ModelReadiness } from '../models/model-readiness.service';
import { decodeMlflowRequest } from './codecs/mlflow-scoring.codec';
import { encodeMlflowResponse } from './codecs/mlflow-scoring.encoder';
import { INFERENCE_ERROR_MAP } from './inference.error-map';
import { InferenceService } from './inference.service';
import { setModelHeaders } from './model-headers';
import { SCORING_BODY, PREDICTIONS } from './openapi/mlflow-scoring.schema';
import { ApiModelRefParam, ApiModelVersionParams } from './openapi/route-params';

/** What every MLflow scoring prediction route takes and answers, for the OpenAPI document. */
const ApiScoringRoute = (): MethodDecorator =>
  applyDecorators(
    ApiRequestBody(...SCORING_BODY),
    ApiJsonAnswer(
      200,
      'Predictions (X-Model-Name and X-Model-Version say which answered)',
      PREDICTIONS,
    ),
    ApiErrors('mlflow', 400, 404, 413, 415, 503),
    ApiCredentials('mlflow'),
  );

/** MLflow's scoring protocol (`mlflow models serve`), so MLflow's own clients work unchanged. */
@ApiTags('mlflow-scoring')
@Controller()
@UseFilters(new MlflowScoringExceptionFilter(INFERENCE_ERROR_MAP))
@LenientJson()
export class MlflowScoringController {
  constructor(
    private readonly inference: InferenceService,
    private readonly readiness: ModelReadiness,
    @Inject(limitsConfig.KEY) private readonly limits: LimitsConfig,
  ) {}

  @Get('ping')
  @ApiOperation({ summary: 'MLflow scoring: 200 once the models of MODELS are loaded' })
  @ApiAnswer(200, 'Ready', 'text/plain', { type: 'string', const: '\n' })
  @ApiErrors('mlflow', 503)
  ping(): string {
    const readiness = this.readiness.report();
    if (readiness.draining) throw new ModelNotReadyError('(server)', 'shutting down');
    if (!readiness.ready) throw new ModelNotReadyError('(MODELS)', 'still loading');
    return '\n';
  }

  @Get('version')
  @ApiOperation({ summary: 'MLflow scoring: the server version' })
  @ApiAnswer(200, 'The server version', 'text/plain')
  @ApiCredentials('mlflow')
  version(): string {
    return SERVICE_VERSION;
  }

  @Post('invocations')
  @HttpCode(200)
  @ApiOperation({ summary: 'MLflow scoring: predict with the default model (first of MODELS)' })
  @ApiScoringRoute()
  invocations(
    @Body() body: unknown,
    @Res({ passthrough: true }) reply: FastifyReply,
    @Headers('content-type') contentType?: string,
  ): Promise<unknown> {
    return this.score(this.inference.defaultReference(), body, reply, contentType);
  }

  @Post('v1/models/:ref/invocations')
  @HttpCode(200)
  @ApiOperation({ summary: 'MLflow scoring: predict with name, name@alias' })
  @ApiModelRefParam('ref')
  @ApiScoringRoute()
  modelInvocations(
    @Param('ref') ref: string,
    @Body() body: unknown,
    @Res({ passthrough: true }) reply: FastifyReply,
    @Headers('content-type') contentType?: string,
  ): Promise<unknown> {
    return this.score(parseModelReference(ref), body, reply, contentType);
  }

  @Post('v1/models/:name/versions/:version/invocations')
  @HttpCode(200)
  @ApiOperation({ summary: 'MLflow scoring: predict with one registered version' })
  @ApiModelVersionParams()
  @ApiScoringRoute()
  versionInvocations(
    @Param('name') name: string,
    @Param('version') version: string,
    @Body() body: unknown,
    @Res({ passthrough: true }) reply: FastifyReply,
    @Headers('content-type') contentType?: string,
  ): Promise<unknown> {
    return this.score(versionReference(name, version), body, reply, contentType);
  }

  /** The answer is JSON text written as MLflow's server writes it (NaN, Infinity included). */
  private async score(
    ref: ModelReference,
    body: unknown,
    reply: FastifyReply,
    contentType: string | undefined,
  ): Promise<string> {
    const raw = body instanceof MalformedJsonBody ? body.text : body;
    const { input, params } = decodeMlflowRequest(raw, contentType, this.limits);
    const result = await this.inference.infer(ref, input, { params });
    setModelHeaders(reply, result);
    void reply.type('application/json');
    return encodeMlflowResponse(result, input);
  }
}
