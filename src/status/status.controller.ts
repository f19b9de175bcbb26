import { Controller, Get, Res } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiAnswer, ApiCredentials } from '../common/openapi/api-errors.decorator';
import type { FastifyReply } from 'fastify';
import { randomBytes } from 'node:crypto';
import { renderStatusPage } from './status.page';
import { StatusService } from './status.service';

/** Seconds between the page's refreshes: the data behind it changes at most this often. */
const REFRESH_SECONDS = 5;

@ApiTags('health')
@Controller('status')
export class StatusController {
  constructor(private readonly status: StatusService) {}

  @Get()
  @ApiOperation({ summary: 'Status page (HTML): the three servers, loaded models, recent reloads' })
  @ApiAnswer(200, 'The page', 'text/html')
  @ApiCredentials('api')
  page(@Res({ passthrough: true }) reply: FastifyReply): string {
    const nonce = randomBytes(16).toString('base64');
    void reply
      .type('text/html; charset=utf-8')
      .header('cache-control', 'no-store')
      .header(
        'content-security-policy',
        `default-src 'none'; style-src 'unsafe-inline'; script-src 'nonce-${nonce}'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`,
      );
    return renderStatusPage(this.status.view(), { refreshSeconds: REFRESH_SECONDS, nonce });
  }
}
