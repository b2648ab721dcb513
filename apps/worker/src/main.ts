import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { ConfigException, loadConfig, type EngramConfig } from '@engram/config';
import { createLogger, StructuredLogger } from '@engram/telemetry';
import { WorkerModule } from './worker.module.js';

/** A separate worker shares the queue and the database with the API: both must be servers. */
function assertShareable(config: EngramConfig): void {
  if (!config.redisUrl || !config.databaseUrl) {
    throw new ConfigException(
      'invalid configuration: a separate worker needs REDIS_URL and DATABASE_URL (without them the API runs its workers itself)',
    );
  }
}

async function bootstrap(): Promise<void> {
  const config = loadConfig();
  assertShareable(config);
  const app = await NestFactory.createApplicationContext(await WorkerModule.forRoot(config), {
    logger: createLogger(config),
  });
  // SIGTERM closes the context (the queues wait for the jobs under way), then exits 0 rather than dying of the signal
  // raised again, which a supervisor would count as a crash.
  app.enableShutdownHooks(['SIGTERM', 'SIGINT'], { useProcessExit: true });
  // Written whatever LOG_LEVEL says, as before: supervisors and tests wait for it.
  new StructuredLogger({ format: config.logFormat, level: 'info' }).write(
    'info',
    'Engram',
    `worker started (edition ${config.edition}, pid ${process.pid})`,
  );
}

bootstrap().catch((error: unknown) => {
  if (error instanceof ConfigException) console.error(`engram-worker: ${error.message}`);
  else console.error('engram-worker: failed to start:', error);
  process.exit(1);
});
