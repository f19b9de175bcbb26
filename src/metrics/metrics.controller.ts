import { Controller, Get, NotFoundException, Res } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiAnswer, ApiErrors } from '../common/openapi/api-errors.decorator';
import type { FastifyReply } from 'fastify';
import { MetricsService } from './metrics.service';

@Controller('metrics')
export class MetricsController {
  constructor(private readonly metrics: MetricsService) {}

  /** Prometheus text format; 404 when METRICS_ENABLED=false. */
  @Get()
  @ApiTags('metrics')
  @ApiOperation({ summary: 'Prometheus metrics of every worker of this instance' })
  @ApiAnswer(200, 'Prometheus text exposition format', 'text/plain')
  @ApiErrors('api', 404)
  async scrape(@Res({ passthrough: true }) reply: FastifyReply): Promise<string> {
    if (!this.metrics.enabled)
      throw new NotFoundException('metrics are off (METRICS_ENABLED=false)');
    const { contentType, body } = await this.metrics.scrape();
    void reply.type(contentType).header('cache-control', 'no-store');
    return body;
  }
}
