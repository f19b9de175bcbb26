import { Controller, Delete, Get, HttpCode, Param, Post } from '@nestjs/common';
import { ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { ApiCredentials, ApiErrors, ApiJsonAnswer } from '../common/openapi/api-errors.decorator';
import { schemaRef } from '../common/openapi/schema-ref';
import { MODELS_SCHEMAS } from './openapi/models.schema';
import { ALIAS_PATTERN, MODEL_NAME_PATTERN } from './openapi/route-params';
import { formatModelReference, parseModelReference } from '../common/model-reference';
import { VetoNotFoundError } from '../models/model.errors';
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

  @Delete(':name/vetoes/:alias')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Lift the veto of name@alias on every instance, then follow the alias again',
    description:
      'A veto (the rollback watch could not move the alias back) also lapses by itself once ' +
      'the alias names another version; this lifts it while the alias still names the vetoed one.',
  })
  @ApiParam({
    name: 'name',
    description: 'A registered model name',
    schema: { type: 'string', pattern: MODEL_NAME_PATTERN },
  })
  @ApiParam({
    name: 'alias',
    description: 'The alias',
    schema: { type: 'string', pattern: ALIAS_PATTERN },
  })
  @ApiJsonAnswer(
    200,
    'The lifted veto and the reload that followed',
    schemaRef(MODELS_SCHEMAS, 'LiftedVeto'),
  )
  @ApiErrors('api', 400, 404, 503)
  @ApiCredentials('api')
  async liftVeto(
    @Param('name') name: string,
    @Param('alias') alias: string,
  ): Promise<{
    lifted: { version: string; fallback: string; reason: string };
    outcome?: ReloadOutcome;
  }> {
    // Validated as any reference (a bad name or alias is the caller's 400).
    const reference = formatModelReference(parseModelReference(`${name}@${alias}`));
    const veto = this.registry.liftVeto(reference, 'lifted by an operator');
    if (!veto) throw new VetoNotFoundError(reference);
    // Resolving tells the peers (the reload broadcast) what the alias names now.
    // Not served here: the peers that serve it follow on the next refresh tick.
    const outcome = await this.registry.reload(reference, 'veto lifted');
    return {
      lifted: { version: veto.version, fallback: veto.fallback, reason: veto.reason },
      outcome,
    };
  }
}
