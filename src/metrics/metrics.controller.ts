import { Controller, Get, NotFoundException, Res } from '@nestjs/common';
import { ApiExcludeEndpoint } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { MetricsService } from './metrics.service';

@Controller('metrics')
export class MetricsController {
  constructor(private readonly metrics: MetricsService) {}

  /** Prometheus text format; 404 when METRICS_ENABLED=false. */
  @Get()
  @ApiExcludeEndpoint()
  async scrape(@Res({ passthrough: true }) reply: FastifyReply): Promise<string> {
    if (!this.metrics.enabled)
      throw new NotFoundException('metrics are off (METRICS_ENABLED=false)');
    const { contentType, body } = await this.metrics.scrape();
    void reply.type(contentType).header('cache-control', 'no-store');
    return body;
  }
}
