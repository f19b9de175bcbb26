import { Controller, Get, HttpCode, Param, Post } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { LoadedModelsView, ModelCatalog } from '../models/model-catalog.service';
import { ModelRegistry, ReloadOutcome } from '../models/model-registry.service';

@ApiTags('models')
@Controller('v1/models')
export class ModelsController {
  constructor(
    private readonly catalog: ModelCatalog,
    private readonly registry: ModelRegistry,
  ) {}

  @Get()
  @ApiOperation({
    summary: 'Models loaded here: versions, signatures, load times, request counts, cache stats',
  })
  list(): LoadedModelsView {
    return this.catalog.loaded();
  }

  @Get(':name')
  @ApiOperation({
    summary: "The registry's view of a model: versions, aliases, training params and metrics",
  })
  get(@Param('name') name: string): Promise<unknown> {
    return this.catalog.registered(name);
  }

  @Post(':name/reload')
  @HttpCode(200)
  @ApiOperation({ summary: 'Follow the registry now: load and swap in moved aliases' })
  async reload(@Param('name') name: string): Promise<{ outcomes: ReloadOutcome[] }> {
    return { outcomes: await this.registry.reloadModel(name, 'api') };
  }
}
