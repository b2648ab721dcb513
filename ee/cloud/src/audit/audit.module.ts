/* @license Enterprise */
import {
  Inject,
  Injectable,
  Module,
  type BeforeApplicationShutdown,
  type OnModuleInit,
  type Provider,
} from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance } from 'fastify';
import { AUDIT_LOGGER, CLOCK, type Clock } from '@engram/memory-core';
import { AUDIT_LOG, AUDIT_SERVICE, CLOUD_DATABASE } from '../cloud.tokens.js';
import type { CloudDatabase } from '../database/cloud-database.js';
import { runWithAuditOrigin } from './audit-origin.js';
import { AdminAuditController, AuditController } from './audit.controller.js';
import { AuditRepository } from './audit.repository.js';
import { AuditService } from './audit.service.js';
import { CloudAuditLogger } from './cloud.audit-logger.js';

/**
 * Writes the queued events before anything closes: BeforeApplicationShutdown runs before every module's
 * OnApplicationShutdown, among them the runtime's, which closes the database pool.
 */
@Injectable()
class AuditLifecycle implements BeforeApplicationShutdown {
  constructor(@Inject(AUDIT_LOG) private readonly audit: CloudAuditLogger) {}

  async beforeApplicationShutdown(): Promise<void> {
    await this.audit.stop();
  }
}

/**
 * The audit log, rebinding the core's AUDIT_LOGGER (in every process: the API and the worker log events). AUDIT_LOG
 * is the same logger with its own methods: `flush` and `logDurably` for a response that reports an event.
 */
export function auditProviders(): Provider[] {
  return [
    {
      provide: AUDIT_LOG,
      useFactory: (db: CloudDatabase, clock: Clock) => new CloudAuditLogger(new AuditRepository(db.appSql), clock),
      inject: [CLOUD_DATABASE, CLOCK],
    },
    { provide: AUDIT_LOGGER, useExisting: AUDIT_LOG },
    {
      provide: AUDIT_SERVICE,
      useFactory: (db: CloudDatabase, audit: CloudAuditLogger) =>
        new AuditService(new AuditRepository(db.appSql), audit, db.controlSql),
      inject: [CLOUD_DATABASE, AUDIT_LOG],
    },
    AuditLifecycle,
  ];
}

/**
 * Gives every request's handling its request id and source IP for the audit log, the route's guards included (a
 * failed authentication is logged there, before the core's request context exists). A preHandler hook: it runs
 * once the body is parsed, and the route handler, which runs the guards, is called inside the context it opens.
 */
@Injectable()
class AuditOriginHook implements OnModuleInit {
  constructor(private readonly adapterHost: HttpAdapterHost) {}

  onModuleInit(): void {
    const fastify = this.adapterHost.httpAdapter?.getInstance<FastifyInstance>();
    fastify?.addHook('preHandler', (request, _reply, done) =>
      runWithAuditOrigin({ requestId: String(request.id), sourceIp: request.ip }, done),
    );
  }
}

/** The audit log's routes: a tenant's own export, and the operator's export and verification. */
@Module({ controllers: [AuditController, AdminAuditController], providers: [AuditOriginHook] })
export class CloudAuditModule {}
