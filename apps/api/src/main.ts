import 'reflect-metadata';
import { ConfigException, loadConfig } from '@engram/config';
import { StructuredLogger } from '@engram/telemetry';
import { createApp } from './app.factory.js';

async function bootstrap(): Promise<void> {
  const config = loadConfig();
  const app = await createApp(config);
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
