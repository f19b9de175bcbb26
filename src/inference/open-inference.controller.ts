import {
  applyDecorators,
  Body,
  Controller,
  Get,
  HttpCode,
  Param,
  Post,
  Res,
  UseFilters,
} from '@nestjs/common';
import { ApiHeader, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { SchemaObject } from '@nestjs/swagger/dist/interfaces/open-api-spec.interface';
import { ApiRequestBody } from '../common/openapi/api-request-body.decorator';
import {
  ApiAnswer,
  ApiCredentials,
  ApiErrors,
  ApiJsonAnswer,
} from '../common/openapi/api-errors.decorator';
import type { FastifyReply } from 'fastify';
import { SERVICE_NAME, SERVICE_VERSION } from '../common/version';
import { ModelReference, parseModelReference, versionReference } from '../common/model-reference';
import { ModelReadiness } from '../models/model-readiness.service';
import { modelMetadata } from './codecs/open-inference.codec';
import { InferenceService } from './inference.service';
import { OPEN_INFERENCE_ERRORS, PredictionRoutes } from './prediction.routes';
import { lineageParameters } from './model-headers';
import {
  BINARY_INFER_BODY,
  INFERENCE_HEADER_CONTENT_LENGTH_HEADER,
  INFER_REQUEST_EXAMPLE,
  inferRequest,
  inferResponse,
  liveSchema,
  modelMetadataSchema,
  readySchema,
  serverMetadataSchema,
} from './openapi/open-inference.schema';
import { ApiModelRefParam, ApiModelVersionParams } from './openapi/route-params';

/** What every Open Inference infer route takes and answers, for the OpenAPI document. */
const ApiInferRoute = (): MethodDecorator =>
  applyDecorators(
    ApiRequestBody(
      'JSON, whatever the Content-Type; in the binary tensor data extension when ' +
        'Inference-Header-Content-Length is sent',
      {
        'application/json': { schema: inferRequest, example: INFER_REQUEST_EXAMPLE },
        'application/octet-stream': { schema: BINARY_INFER_BODY },
      },
    ),
    ApiHeader({
      name: 'Inference-Header-Content-Length',
      required: false,
      ...INFERENCE_HEADER_CONTENT_LENGTH_HEADER,
    }),
    ApiResponse({
      status: 200,
      description:
        'Outputs (X-Model-Name and X-Model-Version say which answered); in the binary form, ' +
        'with Inference-Header-Content-Length, when an output is asked in binary',
      headers: { 'Inference-Header-Content-Length': INFERENCE_HEADER_CONTENT_LENGTH_HEADER },
      content: {
        'application/json': { schema: inferResponse },
        'application/octet-stream': { schema: BINARY_INFER_BODY as SchemaObject },
      },
    }),
    ApiErrors('open-inference', 400, 404, 413, 503),
    ApiCredentials('open-inference'),
  );

/** The protocol extensions served, for `GET /v2` (Triton's names). */
const EXTENSIONS = ['binary_tensor_data', 'classification', 'model_repository'];

/**
 * Open Inference Protocol v2 over REST. Every model route also takes
 * `/versions/{v}`, resolved through the MLflow registry. Not-ready answers are
 * 4xx with an empty body, as the protocol says (KServe's required_api.md).
 * The infer routes are answered by PredictionRoutes: on the HTTP server
 * Fastify calls its handlers directly (prediction.routes.ts).
 */
@ApiTags('open-inference')
@Controller('v2')
@UseFilters(OPEN_INFERENCE_ERRORS)
export class OpenInferenceController {
  constructor(
    private readonly inference: InferenceService,
    private readonly readiness: ModelReadiness,
    private readonly predictions: PredictionRoutes,
  ) {}

  @Get()
  @ApiOperation({ summary: 'Server metadata' })
  @ApiJsonAnswer(200, 'Server metadata', serverMetadataSchema)
  @ApiCredentials('open-inference')
  server(): { name: string; version: string; extensions: string[] } {
    return { name: SERVICE_NAME, version: SERVICE_VERSION, extensions: [...EXTENSIONS] };
  }

  @Get('health/live')
  @ApiOperation({ summary: 'Server live' })
  @ApiJsonAnswer(200, 'Live', liveSchema)
  live(): { live: true } {
    // The protocol allows an empty body; KServe's client reads `live` from it.
    return { live: true };
  }

  @Get('health/ready')
  @ApiOperation({ summary: 'Server ready: every model of MODELS loaded' })
  @ApiJsonAnswer(200, 'Ready', readySchema)
  @ApiAnswer(400, 'Not ready (empty body), as the protocol says')
  ready(@Res() reply: FastifyReply): void {
    // KServe's client reads `ready` from the body; tritonclient reads the status.
    if (this.readiness.ready()) void reply.status(200).send({ ready: true });
    else void reply.status(400).send();
  }

  @Get('models/:name')
  @ApiOperation({ summary: 'Model metadata' })
  @ApiModelRefParam('name')
  @ApiJsonAnswer(200, 'Model metadata; -1 marks a variable dimension', modelMetadataSchema)
  @ApiErrors('open-inference', 400, 404, 503)
  @ApiCredentials('open-inference')
  metadata(@Param('name') name: string): Promise<unknown> {
    return this.describe(parseModelReference(name));
  }

  @Get('models/:name/versions/:version')
  @ApiOperation({ summary: 'Model version metadata' })
  @ApiModelVersionParams()
  @ApiJsonAnswer(200, 'Model metadata; -1 marks a variable dimension', modelMetadataSchema)
  @ApiErrors('open-inference', 400, 404, 503)
  @ApiCredentials('open-inference')
  versionMetadata(
    @Param('name') name: string,
    @Param('version') version: string,
  ): Promise<unknown> {
    return this.describe(versionReference(name, version));
  }

  @Get('models/:name/ready')
  @ApiOperation({ summary: 'Model ready' })
  @ApiModelRefParam('name')
  @ApiAnswer(200, 'Ready (empty body)')
  @ApiAnswer(
    400,
    'Not ready (empty body, as the protocol says), or a malformed reference ({"error"})',
  )
  modelReady(@Param('name') name: string, @Res() reply: FastifyReply): void {
    this.answerReady(parseModelReference(name), reply);
  }

  @Get('models/:name/versions/:version/ready')
  @ApiOperation({ summary: 'Model version ready' })
  @ApiModelVersionParams()
  @ApiAnswer(200, 'Ready (empty body)')
  @ApiAnswer(
    400,
    'Not ready (empty body, as the protocol says), or a malformed reference ({"error"})',
  )
  versionReady(
    @Param('name') name: string,
    @Param('version') version: string,
    @Res() reply: FastifyReply,
  ): void {
    this.answerReady(versionReference(name, version), reply);
  }

  @Post('models/:name/infer')
  @HttpCode(200)
  @ApiOperation({ summary: 'Inference' })
  @ApiModelRefParam('name')
  @ApiInferRoute()
  infer(
    @Param('name') name: string,
    @Body() body: unknown,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<unknown> {
    return this.run(parseModelReference(name), body, reply);
  }

  @Post('models/:name/versions/:version/infer')
  @HttpCode(200)
  @ApiOperation({ summary: 'Inference with one registered version' })
  @ApiModelVersionParams()
  @ApiInferRoute()
  versionInfer(
    @Param('name') name: string,
    @Param('version') version: string,
    @Body() body: unknown,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<unknown> {
    return this.run(versionReference(name, version), body, reply);
  }

  private run(ref: ModelReference, body: unknown, reply: FastifyReply): Promise<unknown> {
    return this.predictions.infer(ref, body, reply);
  }

  private async describe(ref: ModelReference): Promise<unknown> {
    const model = await this.inference.describe(ref);
    return {
      ...modelMetadata(
        model.name,
        [model.version],
        model.runtime.platform,
        [...model.inputs],
        [...model.outputs],
      ),
      parameters: lineageParameters(model),
    };
  }

  private answerReady(ref: ModelReference, reply: FastifyReply): void {
    void reply.status(this.readiness.modelReady(ref) ? 200 : 400).send();
  }
}
