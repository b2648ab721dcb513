import 'reflect-metadata';
import { ConfigException, loadConfig } from '@engram/config';
import { StructuredLogger } from '@engram/telemetry';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { createApp } from './app.factory.js';

/**
 * Closing the server stops it accepting connections and ends the idle ones, but a keep-alive connection whose
 * request is still running stays open after its answer, and the close waits for it until the client hangs up. Every
 * answer sent while closing therefore says `Connection: close`, so that the connection ends with it.
 */
function closeConnectionsWhileClosing(app: NestFastifyApplication): void {
  const fastify = app.getHttpAdapter().getInstance();
  let closing = false;
  fastify.addHook('preClose', async () => {
    closing = true;
  });
  fastify.addHook('onSend', async (_request, reply) => {
    if (closing) void reply.header('connection', 'close');
  });
}

async function bootstrap(): Promise<void> {
  const config = loadConfig();
  const app = await createApp(config);
  closeConnectionsWhileClosing(app);
  await app.listen({ port: config.port, host: config.host });
  const url = await app.getUrl();
  // In the configured format, so a JSON log pipeline reads it like any other line; written whatever LOG_LEVEL says
  // (silent included), because supervisors and tests wait for it to know where the server listens.
  new StructuredLogger({ format: config.logFormat, level: 'info' }).write(
    'info',
    'Engram',
    `listening on ${url} (edition ${config.edition}); docs at ${url}/docs`,
  );
}

bootstrap().catch((error: unknown) => {
  // Bad configuration stops the process with one clear line, not a stack trace.
  if (error instanceof ConfigException) console.error(`engram: ${error.message}`);
  else console.error('engram: failed to start:', error);
  process.exit(1);
});
