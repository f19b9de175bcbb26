import {
  applyDecorators,
  Body,
  Controller,
  Get,
  HttpCode,
  Inject,
  Param,
  Post,
  Res,
  UseFilters,
} from '@nestjs/common';
import { ApiBody, ApiOperation, ApiTags } from '@nestjs/swagger';
import { LimitsConfig, limitsConfig } from '../config/limits.config';
import {
  ApiAnswer,
  ApiCredentials,
  ApiErrors,
  ApiJsonAnswer,
} from '../common/openapi/api-errors.decorator';
import type { FastifyReply } from 'fastify';
import { OpenInferenceExceptionFilter } from '../common/errors/error-filters';
import { SERVICE_NAME, SERVICE_VERSION } from '../common/version';
import { ModelReference, parseModelReference, versionReference } from '../common/model-reference';
import { ModelReadiness } from '../models/model-readiness.service';
import {
  decodeInferRequest,
  encodeInferResponse,
  modelMetadata,
} from './codecs/open-inference.codec';
import { INFERENCE_ERROR_MAP } from './inference.error-map';
import { InferenceService } from './inference.service';
import { setModelHeaders } from './model-headers';
import {
  INFER_REQUEST_EXAMPLE,
  inferRequest,
  inferResponse,
  modelMetadataSchema,
  serverMetadataSchema,
} from './openapi/open-inference.schema';
import { ApiModelRefParam, ApiModelVersionParams } from './openapi/route-params';

/** What every Open Inference infer route takes and answers, for the OpenAPI document. */
const ApiInferRoute = (): MethodDecorator =>
  applyDecorators(
    ApiBody({ schema: inferRequest, examples: { iris: { value: INFER_REQUEST_EXAMPLE } } }),
    ApiJsonAnswer(
      200,
      'Outputs (X-Model-Name and X-Model-Version say which answered)',
      inferResponse,
    ),
    ApiErrors('open-inference', 400, 404, 413, 503),
    ApiCredentials('open-inference'),
  );

/**
 * Open Inference Protocol v2 over REST. Every model route also takes
 * `/versions/{v}`, resolved through the MLflow registry. Not-ready answers are
 * 4xx with an empty body, as the protocol says (KServe's required_api.md).
 */
@ApiTags('open-inference')
@Controller('v2')
@UseFilters(new OpenInferenceExceptionFilter(INFERENCE_ERROR_MAP))
export class OpenInferenceController {
  constructor(
    private readonly inference: InferenceService,
    private readonly readiness: ModelReadiness,
    @Inject(limitsConfig.KEY) private readonly limits: LimitsConfig,
  ) {}

  @Get()
  @ApiOperation({ summary: 'Server metadata' })
  @ApiJsonAnswer(200, 'Server metadata', serverMetadataSchema)
  @ApiCredentials('open-inference')
  server(): { name: string; version: string; extensions: string[] } {
    return { name: SERVICE_NAME, version: SERVICE_VERSION, extensions: [] };
  }

  @Get('health/live')
  @ApiOperation({ summary: 'Server live' })
  @ApiAnswer(200, 'Live (empty body)')
  live(@Res() reply: FastifyReply): void {
    void reply.status(200).send();
  }

  @Get('health/ready')
  @ApiOperation({ summary: 'Server ready: every model of MODELS loaded' })
  @ApiAnswer(200, 'Ready (empty body)')
  @ApiAnswer(400, 'Not ready (empty body), as the protocol says')
  ready(@Res() reply: FastifyReply): void {
    void reply.status(this.readiness.ready() ? 200 : 400).send();
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

  private async run(ref: ModelReference, body: unknown, reply: FastifyReply): Promise<unknown> {
    const request = decodeInferRequest(body, this.limits);
    const result = await this.inference.infer(ref, request.input, {
      outputs: request.requestedOutputs,
      params: request.parameters,
    });
    setModelHeaders(reply, result);
    return encodeInferResponse(result, { id: request.id });
  }

  private async describe(ref: ModelReference): Promise<unknown> {
    const model = await this.inference.describe(ref);
    return modelMetadata(
      model.name,
      [model.version],
      model.runtime.platform,
      [...model.inputs],
      [...model.outputs],
    );
  }

  private answerReady(ref: ModelReference, reply: FastifyReply): void {
    void reply.status(this.readiness.modelReady(ref) ? 200 : 400).send();
  }
}
