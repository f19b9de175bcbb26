import { Body, Controller, HttpCode, Param, Post, UseFilters } from '@nestjs/common';
import { ApiBody, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { OpenInferenceExceptionFilter } from '../common/errors/error-filters';
import { ApiCredentials, ApiErrors, ApiJsonAnswer } from '../common/openapi/api-errors.decorator';
import { schemaRef } from '../common/openapi/schema-ref';
import {
  decodeIndexRequest,
  decodeLoadRequest,
  decodeUnloadRequest,
} from './codecs/repository.codec';
import { INFERENCE_ERROR_MAP } from './inference.error-map';
import { ModelRepository, RepositoryEntry } from './model-repository.service';
import { REPOSITORY_SCHEMAS } from './openapi/repository.schema';
import { MODEL_NAME_PATTERN } from './openapi/route-params';

const ApiModelNameParam = (): MethodDecorator =>
  ApiParam({
    name: 'name',
    description: 'A registered model name (no alias, no version)',
    schema: { type: 'string', pattern: MODEL_NAME_PATTERN },
  });

/**
 * The Open Inference model repository extension over REST, in Triton's and
 * MLServer's shape: what is served, and load / unload through the registry.
 * Errors are `{"error": …}` as on every `/v2` route.
 */
@ApiTags('open-inference')
@Controller('v2/repository')
@UseFilters(new OpenInferenceExceptionFilter(INFERENCE_ERROR_MAP))
export class RepositoryController {
  constructor(private readonly repository: ModelRepository) {}

  @Post('index')
  @HttpCode(200)
  @ApiOperation({ summary: 'Repository index: each served model version and its state' })
  @ApiBody({
    required: false,
    schema: schemaRef(REPOSITORY_SCHEMAS, 'RepositoryIndexRequest'),
    examples: { ready: { value: { ready: true } } },
  })
  @ApiJsonAnswer(200, 'The served versions', schemaRef(REPOSITORY_SCHEMAS, 'RepositoryIndex'))
  @ApiErrors('open-inference', 400, 413)
  @ApiCredentials('open-inference')
  index(@Body() body: unknown): RepositoryEntry[] {
    return this.repository.index(decodeIndexRequest(body));
  }

  @Post('models/:name/load')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Load a model (or follow the registry for it, as a reload does) on every instance',
  })
  @ApiModelNameParam()
  @ApiBody({ required: false, schema: schemaRef(REPOSITORY_SCHEMAS, 'RepositoryLoadRequest') })
  @ApiJsonAnswer(
    200,
    'Loaded: it serves here, and the other instances load it too',
    schemaRef(REPOSITORY_SCHEMAS, 'RepositoryChanged'),
  )
  @ApiErrors('open-inference', 400, 404, 413, 503)
  @ApiCredentials('open-inference')
  async load(@Param('name') name: string, @Body() body: unknown): Promise<object> {
    decodeLoadRequest(body);
    await this.repository.load(name);
    return {};
  }

  @Post('models/:name/unload')
  @HttpCode(200)
  @ApiOperation({
    summary:
      'Unload a model once its requests are done, on every instance (not one listed in MODELS)',
  })
  @ApiModelNameParam()
  @ApiBody({ required: false, schema: schemaRef(REPOSITORY_SCHEMAS, 'RepositoryUnloadRequest') })
  @ApiJsonAnswer(
    200,
    'Unloaded here (or it was not loaded); the other instances unload it too',
    schemaRef(REPOSITORY_SCHEMAS, 'RepositoryChanged'),
  )
  @ApiErrors('open-inference', 400, 404, 409, 413)
  @ApiCredentials('open-inference')
  async unload(@Param('name') name: string, @Body() body: unknown): Promise<object> {
    decodeUnloadRequest(body);
    await this.repository.unload(name);
    return {};
  }
}
