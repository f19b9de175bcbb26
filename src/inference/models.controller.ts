import { Controller, Get, HttpCode, Param, Post } from '@nestjs/common';
import { ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { ApiCredentials, ApiErrors, ApiJsonAnswer } from '../common/openapi/api-errors.decorator';
import { schemaRef } from '../common/openapi/schema-ref';
import { MODELS_SCHEMAS } from './openapi/models.schema';
import { MODEL_NAME_PATTERN } from './openapi/route-params';
import { LoadedModelsView, ModelCatalog } from '../models/model-catalog.service';
import { ModelRegistry, ReloadOutcome } from '../models/model-registry.service';
import { BatchPolicy } from './batching/batch-policy';
import { Batcher } from './batching/batcher.service';

@ApiTags('models')
@Controller('v1/models')
export class ModelsController {
  constructor(
    private readonly catalog: ModelCatalog,
    private readonly registry: ModelRegistry,
    private readonly batcher: Batcher,
  ) {}

  @Get()
  @ApiOperation({
    summary: 'Models loaded here: versions, signatures, load times, request counts, cache stats',
  })
  @ApiJsonAnswer(200, 'Models loaded here', schemaRef(MODELS_SCHEMAS, 'LoadedModels'))
  @ApiCredentials('api')
  list(): LoadedModelsView & { models: { batching?: BatchPolicy }[] } {
    const view = this.catalog.loaded();
    // Batching is the inference module's: the catalog (models/) cannot say it.
    const models = view.models.map((m) => {
      const model = this.registry.serving(m.reference);
      return model ? { ...m, batching: this.batcher.policyOf(model) } : m;
    });
    return { ...view, models };
  }

  @Get(':name')
  @ApiOperation({
    summary: "The registry's view of a model: versions, aliases, training params and metrics",
  })
  @ApiParam({ name: 'name', description: 'A registered model name', schema: { type: 'string' } })
  @ApiJsonAnswer(
    200,
    "The registry's view of the model",
    schemaRef(MODELS_SCHEMAS, 'RegisteredModel'),
  )
  @ApiErrors('api', 400, 404, 502, 503)
  @ApiCredentials('api')
  get(@Param('name') name: string): Promise<unknown> {
    return this.catalog.registered(name);
  }

  @Post(':name/reload')
  @HttpCode(200)
  @ApiOperation({ summary: 'Follow the registry now: load and swap in moved aliases' })
  @ApiParam({
    name: 'name',
    description: 'A registered model name',
    schema: { type: 'string', pattern: MODEL_NAME_PATTERN },
  })
  @ApiJsonAnswer(
    200,
    "Each binding's outcome (a failed load leaves the old version serving)",
    schemaRef(MODELS_SCHEMAS, 'ReloadOutcomes'),
  )
  @ApiErrors('api', 400, 404, 503)
  @ApiCredentials('api')
  async reload(@Param('name') name: string): Promise<{ outcomes: ReloadOutcome[] }> {
    return { outcomes: await this.registry.reloadModel(name, 'api') };
  }
}
