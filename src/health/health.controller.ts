import { Controller, Get, ServiceUnavailableException, UseFilters } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiCredentials, ApiJsonAnswer } from '../common/openapi/api-errors.decorator';
import { schemaRef } from '../common/openapi/schema-ref';
import { HEALTH_SCHEMAS } from './openapi/health.schema';
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
  @HealthCheck({ swaggerDocumentation: false })
  @ApiOperation({ summary: 'Liveness: the process answers; never checks a dependency' })
  @ApiJsonAnswer(200, 'Live', schemaRef(HEALTH_SCHEMAS, 'HealthCheckResult'))
  live(): Promise<HealthCheckResult> {
    return this.health.check([]);
  }

  @Get('ready')
  @HealthCheck({ swaggerDocumentation: false })
  @ApiOperation({
    summary:
      'Readiness: 200 when the models of MODELS serve and the instance is not draining ' +
      '(and MLflow / Airflow are up, if READINESS_REQUIRES_* say so); else 503',
  })
  @ApiJsonAnswer(200, 'Ready', schemaRef(HEALTH_SCHEMAS, 'HealthCheckResult'))
  @ApiJsonAnswer(
    503,
    'Not ready: the failing checks',
    schemaRef(HEALTH_SCHEMAS, 'HealthCheckResult'),
  )
  ready(): Promise<HealthCheckResult> {
    return this.health.check(this.topology.readinessChecks());
  }

  @Get('topology')
  @HealthCheck({ swaggerDocumentation: false })
  @ApiOperation({
    summary:
      'The three servers from the last background check: status, latency, last success, ' +
      'and for a failure its kind and a hint; 503 when any is down',
  })
  @ApiJsonAnswer(200, 'Every server is up', schemaRef(HEALTH_SCHEMAS, 'HealthCheckResult'))
  @ApiJsonAnswer(
    503,
    'A server is down: which, and why',
    schemaRef(HEALTH_SCHEMAS, 'HealthCheckResult'),
  )
  @ApiCredentials('api')
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
