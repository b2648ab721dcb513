import { Controller, Get, Inject, Res } from '@nestjs/common';
import { ApiProduces, ApiTags } from '@nestjs/swagger';
import { OperatorOnly, RequireScopes } from '@engram/memory-core';
import { EngramMetrics } from '@engram/telemetry';
import type { FastifyReply } from 'fastify';

async function exposition(metrics: EngramMetrics, reply: FastifyReply): Promise<string> {
  void reply.header('content-type', metrics.contentType);
  return metrics.render();
}

/**
 * `GET /metrics` in the OSS edition: whoever may use the API may scrape it, so it asks for the API key when one is set
 * (`Authorization: Bearer $ENGRAM_API_KEY`, Prometheus' `authorization` setting) and is open on loopback otherwise,
 * like every other route. Not public: the figures describe the whole server's traffic.
 */
@ApiTags('operations')
@Controller()
export class MetricsController {
  constructor(@Inject(EngramMetrics) private readonly metrics: EngramMetrics) {}

  /** Prometheus text exposition. */
  @Get('metrics')
  @RequireScopes('admin')
  @ApiProduces('text/plain')
  scrape(@Res({ passthrough: true }) reply: FastifyReply): Promise<string> {
    return exposition(this.metrics, reply);
  }
}

/**
 * `GET /metrics` in the cloud edition: the platform operator's (the admin token), since the figures cover every
 * tenant; a tenant's key, whatever its scopes, is refused.
 */
@ApiTags('operations')
@Controller()
export class OperatorMetricsController {
  constructor(@Inject(EngramMetrics) private readonly metrics: EngramMetrics) {}

  /** Prometheus text exposition. */
  @Get('metrics')
  @OperatorOnly()
  @ApiProduces('text/plain')
  scrape(@Res({ passthrough: true }) reply: FastifyReply): Promise<string> {
    return exposition(this.metrics, reply);
  }
}
