import {
  applyDecorators,
  Body,
  Controller,
  Get,
  Headers,
  HttpCode,
  Param,
  Post,
  Res,
  UseFilters,
} from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import {
  ApiAnswer,
  ApiCredentials,
  ApiErrors,
  ApiJsonAnswer,
} from '../common/openapi/api-errors.decorator';
import { ApiRequestBody } from '../common/openapi/api-request-body.decorator';
import type { FastifyReply } from 'fastify';
import { LenientJson } from '../common/http/body-parsers';
import { SERVICE_VERSION } from '../common/version';
import { ModelNotReadyError } from '../models/model.errors';
import { ModelReference, parseModelReference, versionReference } from '../common/model-reference';
import { ModelReadiness } from '../models/model-readiness.service';
import { InferenceService } from './inference.service';
import { MLFLOW_SCORING_ERRORS, PredictionRoutes } from './prediction.routes';
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

/**
 * MLflow's scoring protocol (`mlflow models serve`), so MLflow's own clients
 * work unchanged. The prediction routes are answered by PredictionRoutes: on
 * the HTTP server Fastify calls its handlers directly (prediction.routes.ts).
 */
@ApiTags('mlflow-scoring')
@Controller()
@UseFilters(MLFLOW_SCORING_ERRORS)
@LenientJson()
export class MlflowScoringController {
  constructor(
    private readonly inference: InferenceService,
    private readonly readiness: ModelReadiness,
    private readonly predictions: PredictionRoutes,
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

  private score(
    ref: ModelReference,
    body: unknown,
    reply: FastifyReply,
    contentType: string | undefined,
  ): Promise<string> {
    return this.predictions.score(ref, body, reply, contentType);
  }
}
