/* @license Enterprise */
import { Logger } from '@nestjs/common';
import {
  currentRequestContext,
  MemoryException,
  MemoryExceptionCode,
  type Clock,
  type EmbeddingJobSelector,
  type EmbeddingQueue,
  type ErasureReceipt,
  type GdprService,
  type RemovedJobs,
  type TenantId,
} from '@engram/memory-core';
import type { TenantRepository } from '../tenants/tenant.repository.js';
import type { EmbeddingCachePurger } from './embedding-cache.purger.js';
import type { ErasableStore } from './erasable-store.js';
import type { ErasureAuditTrail } from './erasure-audit.js';
import type { ErasureRepository } from './erasure.repository.js';
import {
  erasedNothing,
  receiptOf,
  type CloudErasureReceipt,
  type ErasureRecord,
  type ErasureStepName,
  type ErasureTarget,
} from './erasure.js';

/** What the erase tells the usage tracker: the memories it deleted no longer count against the tenant's cap. */
export interface MemoryCountRelease {
  releaseMemories(tenantId: TenantId, count: number): Promise<void>;
}

export interface CloudGdprOptions {
  usage?: MemoryCountRelease;
  /** How long an erase waits for the subject's running embedding jobs to finish before it stops (to resume later). */
  jobsTimeoutMs?: number;
  /** How long a request waits for an erase of the same subject that another process is running. */
  lockWaitMs?: number;
  /**
   * Erases this process runs at once. Each holds a pooled connection for its lock while its steps take others from
   * the same pool: bounded, so that many concurrent requests cannot take the whole pool and wait on each other.
   */
  concurrency?: number;
  /** The inference queue (InferenceService): the subject's inference jobs go before its memories do. */
  inferenceJobs?: InferenceJobRemover;
}

/** What the erase needs of the inference queue. */
export interface InferenceJobRemover {
  removeJobs(tenantId: TenantId, userId?: string): Promise<RemovedJobs>;
}

/** Background retries of a failing erase wait 30 s, then twice as long after each failure, up to an hour. */
const RESUME_BACKOFF_MS = { first: 30_000, max: 3_600_000 };

interface ErasureStep {
  name: ErasureStepName;
  /** Erases from one store and records the step done (with its counts) in the erase's record. */
  run(erasure: ErasureRecord): Promise<void>;
}

/**
 * The cloud's GDPR erase: a data subject (a user id of a tenant) or a whole tenant, from every store.
 *
 * An erase is a durable record (`gdpr_erasures`) worked through in steps, each idempotent and recorded when done:
 * `tenant` (whole tenant only: tombstone, API keys, so nothing new arrives), `inference` (the subject's inference
 * jobs: queued ones removed, running ones waited for, so that no inference writes a memory after the next step),
 * `memories` (memories, history and
 * inference events, with the memory ids and content hashes the later steps need, in one transaction), one
 * `kv:<name>` per erasable store,
 * `jobs` (queued, delayed and finished job records, once the running ones have finished: their re-check finds the
 * memory gone), `cache` (every process's embedding cache, only now that no job can put a vector back), then the
 * audit event and the receipt. A run holds the erase's lock; a run that stops half-way (a failure, a crash) leaves
 * the record unfinished, and the next run (a repeated request, or the resumer of the worker processes) continues
 * at the first step not done. A repeat of a finished erase runs every step again (the subject may have new data);
 * if it finds nothing, the earlier receipt stands and is returned.
 */
export class CloudGdprService implements GdprService {
  private readonly logger = new Logger(CloudGdprService.name);
  private readonly jobsTimeoutMs: number;
  private readonly lockWaitMs: number;
  private readonly usage: MemoryCountRelease | undefined;
  private readonly inferenceJobs: InferenceJobRemover | undefined;
  private readonly slots: Slots;
  /** Erases whose background retry waits: when it may run again (per process; a restart retries at once). */
  private readonly resumeAfter = new Map<string, number>();

  constructor(
    private readonly erasures: ErasureRepository,
    private readonly tenants: TenantRepository,
    private readonly queue: EmbeddingQueue,
    private readonly cache: EmbeddingCachePurger,
    private readonly stores: readonly ErasableStore[],
    private readonly audit: ErasureAuditTrail,
    private readonly clock: Clock,
    options: CloudGdprOptions = {},
  ) {
    this.jobsTimeoutMs = options.jobsTimeoutMs ?? 60_000;
    this.lockWaitMs = options.lockWaitMs ?? 60_000;
    this.usage = options.usage;
    this.inferenceJobs = options.inferenceJobs;
    this.slots = new Slots(options.concurrency ?? 2);
    const names = stores.map((store) => store.name);
    if (new Set(names).size !== names.length) throw new Error(`erasable stores must have distinct names: ${names}`);
  }

  async eraseSubject(tenantId: TenantId, userId: string): Promise<ErasureReceipt> {
    const receipt = await this.erase({ kind: 'subject', tenantId, userId });
    if (!receipt) throw MemoryException.validation(`tenant ${tenantId} does not exist`, { tenant_id: tenantId });
    return { ...receipt, userId };
  }

  /** Erases a whole tenant; null when there never was such a tenant. */
  eraseTenant(tenantId: TenantId): Promise<CloudErasureReceipt | null> {
    return this.erase({ kind: 'tenant', tenantId });
  }

  /**
   * Runs (or joins, or resumes) the target's erase to its end and returns its receipt; null when there is no such
   * tenant (for a subject: no live one). Throws CONFLICT when another process holds the erase for too long, and
   * DEPENDENCY_UNAVAILABLE when a step fails (the erase is then resumed later).
   */
  async erase(target: ErasureTarget): Promise<CloudErasureReceipt | null> {
    if (target.kind === 'subject' && target.userId.length === 0)
      throw MemoryException.validation('the user id of the subject is empty');
    const tenant = await this.erasures.tenantState(target.tenantId);
    if (tenant === null || (target.kind === 'subject' && tenant === 'deleted')) return null;
    const erasure = await this.erasures.running(target, this.clock.now());
    const receipt = await this.slots.run(() =>
      this.erasures.withLock(erasure.id, this.lockWaitMs, () => this.run(erasure)),
    );
    if (!receipt) throw new Error(`erase ${erasure.id} ended without a receipt`);
    return { ...receipt, userId: target.kind === 'subject' ? target.userId : null };
  }

  /**
   * Runs the unfinished erases that no process is working on (the resumer's tick); how many it finished. One that
   * fails again is retried with a growing delay, so that a store down for hours does not flood the audit log.
   */
  async resumeUnfinished(limit = 50): Promise<number> {
    let finished = 0;
    for (const erasure of await this.erasures.listRunning(limit)) {
      if ((this.resumeAfter.get(erasure.id) ?? 0) > Date.now()) continue;
      try {
        if (await this.slots.run(() => this.erasures.withLock(erasure.id, 0, () => this.run(erasure)))) finished++;
        this.resumeAfter.delete(erasure.id);
      } catch (error) {
        const delay = Math.min(RESUME_BACKOFF_MS.first * 2 ** Math.min(erasure.attempts, 20), RESUME_BACKOFF_MS.max);
        this.resumeAfter.set(erasure.id, Date.now() + delay);
        this.logger.warn(
          `erase ${erasure.id} could not be resumed, next try in ${delay / 1000} s: ${messageOf(error)}`,
        );
      }
    }
    return finished;
  }

  /** One run of an erase, under its lock. `known` may be stale: the record is read again first. */
  private async run(known: ErasureRecord): Promise<CloudErasureReceipt> {
    const erasure = await this.erasures.get(known.tenantId, known.id);
    if (!erasure) return this.previousReceipt(known);
    if (erasure.state === 'completed') return receiptOf(erasure, null);
    await this.erasures.countAttempt(erasure);
    try {
      for (const step of this.stepsOf(erasure)) if (!erasure.stepsDone.includes(step.name)) await step.run(erasure);
    } catch (error) {
      this.logger.warn(`erase ${erasure.id} stopped, to be resumed: ${messageOf(error)}`);
      await this.recordEvent(erasure, 'failure', erasure.id).catch(() => undefined);
      throw new MemoryException(
        MemoryExceptionCode.DEPENDENCY_UNAVAILABLE,
        'the erase stopped half-way; it resumes by itself, or repeat the request',
        { erasure_id: erasure.id },
      );
    }
    const previous = await this.erasures.lastCompleted(erasure.tenantId, erasure.subjectDigest);
    if (previous && erasedNothing(erasure)) {
      // A repeat that found nothing more: the earlier receipt stands (the request is still on the audit log).
      await this.recordEvent(erasure, 'success', previous.id);
      await this.erasures.discard(erasure);
      return receiptOf(previous, null);
    }
    const auditEventId = await this.recordEvent(erasure, 'success', erasure.id);
    return receiptOf(await this.erasures.complete(erasure, auditEventId, this.clock.now()), null);
  }

  /** The erase was dropped by a run that found nothing: the receipt is the one before it. */
  private async previousReceipt(known: ErasureRecord): Promise<CloudErasureReceipt> {
    const previous = await this.erasures.lastCompleted(known.tenantId, known.subjectDigest);
    if (!previous) throw new Error(`erase ${known.id} vanished`);
    return receiptOf(previous, null);
  }

  private recordEvent(erasure: ErasureRecord, outcome: 'success' | 'failure', erasureId: string) {
    // Content-free: the erase's id and the subject's digest, never the user id (the erase removes it everywhere).
    // Run for a request, the operator's; resumed in the background, the system's.
    const context = currentRequestContext();
    return this.audit.record({
      tenantId: erasure.tenantId,
      actor: context?.principal.kind === 'operator' ? 'operator' : 'system',
      action: erasure.kind === 'subject' ? 'gdpr.erase_subject' : 'gdpr.erase_tenant',
      targetIds: erasure.subjectDigest ? [erasureId, `subject:${erasure.subjectDigest}`] : [erasureId],
      outcome,
      requestId: context?.requestId,
    });
  }

  private stepsOf(erasure: ErasureRecord): ErasureStep[] {
    const steps: ErasureStep[] = [];
    if (erasure.kind === 'tenant') steps.push({ name: 'tenant', run: (e) => this.eraseTenantRecord(e) });
    const inference = this.inferenceJobs;
    if (inference) {
      steps.push({
        name: 'inference',
        run: async (e) => {
          const target = targetOf(e);
          const userId = target.kind === 'subject' ? target.userId : undefined;
          const removed = await this.drainJobs('inference', () => inference.removeJobs(target.tenantId, userId));
          await this.erasures.stepDone(e, 'inference', { inference_jobs: removed });
        },
      });
    }
    steps.push({ name: 'memories', run: (e) => this.eraseMemories(e) });
    for (const store of this.stores) {
      const name = `kv:${store.name}` as const;
      steps.push({
        name,
        run: async (e) => this.erasures.stepDone(e, name, { [name]: await store.erase(targetOf(e)) }),
      });
    }
    steps.push({ name: 'jobs', run: (e) => this.eraseJobs(e) });
    steps.push({
      name: 'cache',
      run: async (e) =>
        this.erasures.stepDone(e, 'cache', { cache: await this.cache.purge(await this.erasures.keys(e, 'content')) }),
    });
    return steps;
  }

  private async eraseMemories(erasure: ErasureRecord): Promise<void> {
    const { memories } = await this.erasures.eraseMemories(erasure);
    // Best effort: the tracker's count of stored memories is reloaded from Postgres after a while anyway.
    await this.usage?.releaseMemories(erasure.tenantId, memories);
  }

  /** Tombstones the tenant and deletes its API keys first, so that nothing new is written while it is erased. */
  private async eraseTenantRecord(erasure: ErasureRecord): Promise<void> {
    const { apiKeys } = await this.tenants.markDeleted(erasure.tenantId, this.clock.now());
    await this.erasures.stepDone(erasure, 'tenant', { api_keys: apiKeys });
  }

  /**
   * Removes the job records of the subject (or tenant). A running job cannot be removed: the step waits for it to
   * finish (its pipeline re-reads the memory, finds it gone and writes nothing) and removes it then; the pass is
   * repeated until one finds nothing, so that a job moving between states during a pass is not missed.
   */
  private async eraseJobs(erasure: ErasureRecord): Promise<void> {
    let removed = 0;
    const removeJobs = this.queue.removeJobs?.bind(this.queue);
    if (removeJobs) {
      const memoryIds = new Set(await this.erasures.keys(erasure, 'memory'));
      const target = targetOf(erasure);
      const selector: EmbeddingJobSelector =
        target.kind === 'subject'
          ? { tenantId: target.tenantId, userId: target.userId, memoryIds }
          : { tenantId: target.tenantId, memoryIds };
      removed = await this.drainJobs('embedding', () => removeJobs(selector));
    }
    await this.erasures.stepDone(erasure, 'jobs', { jobs: removed });
  }

  /** Removes matching jobs pass after pass until a pass finds none, waiting for running ones; how many went. */
  private async drainJobs(kind: string, pass: () => Promise<RemovedJobs>): Promise<number> {
    let removed = 0;
    const deadline = Date.now() + this.jobsTimeoutMs;
    for (;;) {
      const result = await pass();
      removed += result.removed;
      if (result.removed === 0 && result.remaining === 0) return removed;
      if (Date.now() >= deadline) throw new Error(`${result.remaining} ${kind} jobs of the erase are still running`);
      if (result.remaining > 0) await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

function targetOf(erasure: ErasureRecord): ErasureTarget {
  if (erasure.kind === 'tenant') return { kind: 'tenant', tenantId: erasure.tenantId };
  if (!erasure.userId) throw new Error(`erase ${erasure.id} has lost its subject`);
  return { kind: 'subject', tenantId: erasure.tenantId, userId: erasure.userId };
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** At most `size` tasks at once; the others wait their turn, in order. */
class Slots {
  private free: number;
  private readonly waiting: Array<() => void> = [];

  constructor(size: number) {
    if (!Number.isInteger(size) || size < 1)
      throw new RangeError(`concurrency must be a positive integer, got ${size}`);
    this.free = size;
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.free > 0) this.free--;
    else await new Promise<void>((go) => this.waiting.push(go));
    try {
      return await task();
    } finally {
      // The slot passes straight to the next waiter, if any.
      const next = this.waiting.shift();
      if (next) next();
      else this.free++;
    }
  }
}
