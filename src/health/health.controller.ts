import { Controller, Get, ServiceUnavailableException, UseFilters } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { HealthCheck, HealthCheckResult, HealthCheckService } from '@nestjs/terminus';
import { HealthCheckExceptionFilter } from './health-check.filter';
import { TopologyService } from './topology.service';

@ApiTags('health')
@Controller('health')
@UseFilters(HealthCheckExceptionFilter)
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly topology: TopologyService,
  ) {}

  /** Liveness is the process alone: a dependency down must never get us restarted. */
  @Get('live')
  @HealthCheck()
  @ApiOperation({ summary: 'Liveness: the process answers; never checks a dependency' })
  live(): Promise<HealthCheckResult> {
    return this.health.check([]);
  }

  @Get('ready')
  @HealthCheck()
  @ApiOperation({
    summary:
      'Readiness: 200 when the models of MODELS serve and the instance is not draining ' +
      '(and MLflow / Airflow are up, if READINESS_REQUIRES_* say so); else 503',
  })
  ready(): Promise<HealthCheckResult> {
    return this.health.check(this.topology.readinessChecks());
  }

  @Get('topology')
  @HealthCheck()
  @ApiOperation({
    summary:
      'The three servers from the last background check: status, latency, last success, ' +
      'and for a failure its kind and a hint; 503 when any is down',
  })
  async topologyCheck(): Promise<HealthCheckResult> {
    try {
      return this.topology.withNotConfigured(
        await this.health.check(this.topology.topologyChecks()),
      );
    } catch (error) {
      // A failed check is a 503 whose body is the result: it lists them too.
      if (!(error instanceof ServiceUnavailableException)) throw error;
      throw new ServiceUnavailableException(
        this.topology.withNotConfigured(error.getResponse() as HealthCheckResult),
      );
    }
  }
}
