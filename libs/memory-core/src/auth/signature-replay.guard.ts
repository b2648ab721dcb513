import { MemoryException, MemoryExceptionCode } from '../memory.exception.js';

/** Bound by the API to the replay guard its processes share (Redis with REDIS_URL, else this process's memory). */
export const SIGNATURE_REPLAY_GUARD = Symbol('SIGNATURE_REPLAY_GUARD');

/**
 * Remembers the signatures of accepted signed requests until their timestamp leaves the window, so that a captured
 * request is accepted once. Only signatures that verified are offered to it: a forger cannot fill it with junk.
 *
 * The OSS default (`InProcessSignatureReplayGuard`) is one process's memory; API processes behind a load balancer need
 * the shared one (`RedisSignatureReplayGuard` in `@engram/memory-redis`), or a request replayed to another process
 * passes there.
 */
export interface SignatureReplayGuard {
  /**
   * True the first time `signature` is offered; false for a replay. `expiresAt` (ms since the epoch) is when the
   * request's timestamp leaves the window: past it the timestamp refuses the request, so it may be forgotten.
   * Throws UNAUTHORIZED (`overloaded`) when it cannot remember one more, DEPENDENCY_UNAVAILABLE when its store is down.
   */
  firstUse(signature: string, expiresAt: number): Promise<boolean>;
  close?(): Promise<void>;
}

/** Signatures remembered by one process within the window; beyond it, new ones are refused rather than risk a replay. */
export const DEFAULT_MAX_REMEMBERED_SIGNATURES = 100_000;

export interface InProcessSignatureReplayGuardOptions {
  maxRemembered?: number;
  /** Milliseconds since the epoch; tests move it. */
  now?: () => number;
}

/**
 * One process's memory of signatures, bounded: when it is full, new signed requests are refused (fail closed) until
 * old entries age out, rather than forget a live one.
 */
export class InProcessSignatureReplayGuard implements SignatureReplayGuard {
  private readonly maxRemembered: number;
  private readonly now: () => number;
  /** Signature → when it may be forgotten. Insertion order is arrival order. */
  private readonly seen = new Map<string, number>();

  constructor(options: InProcessSignatureReplayGuardOptions = {}) {
    this.maxRemembered = options.maxRemembered ?? DEFAULT_MAX_REMEMBERED_SIGNATURES;
    this.now = options.now ?? Date.now;
  }

  /** How many signatures are remembered now (for tests and metrics). */
  get remembered(): number {
    return this.seen.size;
  }

  async firstUse(signature: string, expiresAt: number): Promise<boolean> {
    return this.firstUseNow(signature, expiresAt);
  }

  /** `firstUse` without the promise, for a verifier that answers synchronously (RequestSignatureVerifier). */
  firstUseNow(signature: string, expiresAt: number): boolean {
    this.forgetExpired(this.now());
    if (this.seen.has(signature)) return false;
    if (this.seen.size >= this.maxRemembered) {
      throw new MemoryException(
        MemoryExceptionCode.UNAUTHORIZED,
        'signed request refused: too many signed requests within the replay window; try again shortly',
        { reason: 'overloaded' },
      );
    }
    this.seen.set(signature, expiresAt);
    return true;
  }

  private forgetExpired(now: number): void {
    // Entries arrive roughly in timestamp order, so the expired ones are at the front; a younger entry ahead of an
    // older one only delays the older one's removal, never removes a live entry.
    for (const [signature, forgetAt] of this.seen) {
      if (forgetAt >= now) break;
      this.seen.delete(signature);
    }
  }
}
