import { Controller, Get, Header, ServiceUnavailableException, UseFilters } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiCredentials, ApiJsonAnswer } from '../common/openapi/api-errors.decorator';
import { schemaRef } from '../common/openapi/schema-ref';
import { HEALTH_SCHEMAS } from './openapi/health.schema';
import { HealthCheckExceptionFilter } from './health-check.filter';
import { ServiceSummary, TopologyService } from './topology.service';

@ApiTags('health')
@Controller()
@UseFilters(HealthCheckExceptionFilter)
export class RootController {
  constructor(private readonly topology: TopologyService) {}

  /** Where the deployment guide probes the API: 200 when ready (503 otherwise), with a summary either way. */
  @Get()
  @Header('cache-control', 'no-store')
  @ApiOperation({ summary: 'Service name, version, status and a summary of the topology' })
  @ApiJsonAnswer(200, 'Ready', schemaRef(HEALTH_SCHEMAS, 'ServiceSummary'))
  @ApiJsonAnswer(
    503,
    'Not ready; the summary says why',
    schemaRef(HEALTH_SCHEMAS, 'ServiceSummary'),
  )
  @ApiCredentials('api')
  root(): ServiceSummary {
    const summary = this.topology.summary();
    if (!summary.ready) throw new ServiceUnavailableException(summary);
    return summary;
  }
}
