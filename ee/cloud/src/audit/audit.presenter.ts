/* @license Enterprise */
import type { AuditVerification } from './audit-chain.js';

/** `{ok, events, first_bad_event?}` (API.md), and why that event does not verify. */
export function presentVerification(verification: AuditVerification) {
  return verification.ok
    ? { ok: true, events: verification.events }
    : {
        ok: false,
        events: verification.events,
        first_bad_event: verification.firstBadEvent,
        reason: verification.reason,
      };
}
