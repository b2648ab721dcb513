/* @license Enterprise */
import type { AuditEvent, AuditLogger } from '@engram/memory-core';

/** What an erase needs of the audit log: its event written before the receipt is given out. */
export interface ErasureAuditTrail {
  /** The event's id; null when the audit log does not name its events. */
  record(event: AuditEvent): Promise<string | null>;
}

/** The cloud's AuditLogger (audit/cloud.audit-logger.ts), as far as the erase uses it. */
interface DurableAuditLogger extends AuditLogger {
  logDurably?(event: AuditEvent): Promise<{ id: string }>;
  flush?(): Promise<unknown>;
}

/**
 * The erase's view of the edition's AUDIT_LOGGER. The cloud's logger writes in batches: `logDurably` resolves once
 * the event is in `audit_events`, with its id, which the receipt names. Any other logger: logged, then flushed if
 * it can be, and the receipt names no event.
 */
export function erasureAuditTrail(logger: AuditLogger): ErasureAuditTrail {
  const audit = logger as DurableAuditLogger;
  return {
    async record(event) {
      if (audit.logDurably) return (await audit.logDurably(event)).id;
      await audit.log(event);
      await audit.flush?.();
      return null;
    },
  };
}
