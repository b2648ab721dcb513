import { afterEach, describe, expect, it } from '@jest/globals';
import Fastify, { type FastifyInstance } from 'fastify';
import { StructuredLogger } from '../logging/structured.logger.js';
import { EngramMetrics } from '../metrics/engram-metrics.js';
import { Tracing } from '../tracing/tracing.js';
import { instrumentHttp } from './http-telemetry.js';

describe('instrumentHttp (on a real Fastify server)', () => {
  let fastify: FastifyInstance | null = null;
  afterEach(async () => {
    await fastify?.close();
    fastify = null;
  });

  async function newServer(level: 'info' | 'warn' = 'info') {
    const lines: string[] = [];
    const logger = new StructuredLogger({ format: 'json', level, sink: { write: (line: string) => lines.push(line) } });
    const metrics = new EngramMetrics();
    fastify = Fastify({ genReqId: () => 'req-1' });
    instrumentHttp(fastify, { metrics, tracing: Tracing.disabled(), logger, tenantOf: () => 'tenant-a' });
    fastify.get('/v1/memories/:id', async (request, reply) => {
      const { id } = request.params as { id: string };
      return id === 'missing' ? reply.status(404).send({ error: 'no' }) : { id };
    });
    fastify.get('/health', async () => ({ status: 'ok' }));
    await fastify.ready();
    return { server: fastify, metrics, access: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>) };
  }

  it('should log one access line per request with the route pattern, status, duration and request id', async () => {
    const { server, access } = await newServer();
    await server.inject({ method: 'GET', url: '/v1/memories/0190-abc' });
    await server.inject({ method: 'GET', url: '/v1/memories/missing' });
    expect(access()).toEqual([
      {
        time: expect.any(String),
        level: 'info',
        context: 'http',
        msg: 'request',
        method: 'GET',
        route: '/v1/memories/:id',
        status: 200,
        duration_ms: expect.any(Number),
        request_id: 'req-1',
        tenant_id: 'tenant-a',
      },
      expect.objectContaining({ route: '/v1/memories/:id', status: 404 }),
    ]);
    expect(JSON.stringify(access())).not.toContain('0190-abc');
  });

  it('should log probes at debug only, and nothing at all above info', async () => {
    const info = await newServer('info');
    await info.server.inject({ method: 'GET', url: '/health' });
    expect(info.access()).toEqual([]);
    await fastify?.close();
    const warn = await newServer('warn');
    await warn.server.inject({ method: 'GET', url: '/v1/memories/x' });
    expect(warn.access()).toEqual([]);
  });

  it('should observe the duration histogram by method, route pattern and status', async () => {
    const { server, metrics } = await newServer();
    await server.inject({ method: 'GET', url: '/v1/memories/a' });
    await server.inject({ method: 'GET', url: '/v1/memories/b' });
    await server.inject({ method: 'GET', url: '/nowhere/c' });
    const { values } = await metrics.httpRequestDuration.get();
    const counts = values
      .filter((v) => v.metricName === 'engram_http_request_duration_seconds_count')
      .map((v) => ({ ...v.labels, count: v.value }));
    expect(counts).toEqual(
      expect.arrayContaining([
        { method: 'GET', route: '/v1/memories/:id', status: '200', count: 2 },
        { method: 'GET', route: 'unmatched', status: '404', count: 1 },
      ]),
    );
    expect(counts).toHaveLength(2);
  });
});
