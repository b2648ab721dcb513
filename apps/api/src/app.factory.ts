import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import type { EngramConfig } from '@engram/config';
import { createLogger, EngramMetrics, instrumentHttp, Tracing } from '@engram/telemetry';
import { AppModule } from './app.module.js';
import { PRINCIPAL, type AuthenticatedRequest } from './common/guards/auth.guard.js';
import { RATE_LIMIT, rateLimitHeaders, type RateLimitedRequest } from './common/http/rate-limit-headers.js';
import { setupOpenApi } from './openapi.js';

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Builds the HTTP app for a configuration; `main.ts` listens, tests use it directly. */
export async function createApp(config: EngramConfig): Promise<NestFastifyApplication> {
  const adapter = new FastifyAdapter({
    bodyLimit: config.maxBodyBytes,
    // A caller's request id is kept (so logs join up across services) when it is sane; else we make one.
    genReqId: (request: IncomingMessage) => {
      const given = request.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
    requestIdHeader: false,
    // mem0 clients call every route with a trailing slash (`/mem0/v1/memories/{id}/`), and entity names travel in
    // paths (`/mem0/v2/entities/user/{name}/`): up to the 255 characters an owner id may have, encoded.
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 1024 },
  });
  const logger = createLogger(config);
  // Built before Nest starts: a bad configuration found while building it (the sources file) then reaches main's
  // one-line handler rather than Nest's exception handler.
  const root = await AppModule.forRoot(config);
  const app = await NestFactory.create<NestFastifyApplication>(root, adapter, {
    logger,
    // The JSON body's bytes stay on the request (`rawBody`): a signed request's signature covers them as sent, which
    // no re-serialisation of the parsed body could reproduce (key order, spacing, escapes).
    rawBody: true,
  });
  const fastify = app.getHttpAdapter().getInstance();
  instrumentHttp(fastify, {
    metrics: app.get(EngramMetrics),
    tracing: app.get(Tracing),
    logger,
    tenantOf: (request) => {
      const principal = (request as AuthenticatedRequest)[PRINCIPAL];
      return principal?.kind === 'tenant' ? principal.tenantId : undefined;
    },
  });
  // The API speaks JSON only: a text body is a 415, not a string that fails validation later.
  fastify.removeContentTypeParser('text/plain');
  // Many clients (mem0's among them) send `Content-Type: application/json` on a DELETE without a body: no body,
  // rather than a 400. Anything else is Fastify's own parser, with its prototype-poisoning checks.
  const parseJson = fastify.getDefaultJsonParser('error', 'error');
  app.useBodyParser('application/json', { bodyLimit: config.maxBodyBytes }, (request, body, done) => {
    if (body.length === 0) done(null, undefined);
    else void parseJson(request as Parameters<typeof parseJson>[0], body.toString('utf8'), done);
  });
  fastify.addHook('onSend', async (request, reply) => {
    void reply.header('x-request-id', request.id);
    // Every response to an admitted tenant request, errors included, reports the caller's rate limit.
    const rateLimit = (request as RateLimitedRequest)[RATE_LIMIT];
    if (rateLimit) void reply.headers(rateLimitHeaders(rateLimit));
  });
  // SIGTERM (an orchestrator stopping the pod) and SIGINT close the app, which stops accepting connections, lets the
  // requests under way finish, closes the queues (waiting for running jobs) and the pools, then exits 0: without
  // `useProcessExit` Nest raises the signal again and the process dies of it (143), which a supervisor counts as a crash.
  app.enableShutdownHooks(['SIGTERM', 'SIGINT'], { useProcessExit: true });
  setupOpenApi(app);
  return app;
}
