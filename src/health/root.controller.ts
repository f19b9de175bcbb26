import { Controller, Get, Header, ServiceUnavailableException, UseFilters } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
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
  root(): ServiceSummary {
    const summary = this.topology.summary();
    if (!summary.ready) throw new ServiceUnavailableException(summary);
    return summary;
  }
}
