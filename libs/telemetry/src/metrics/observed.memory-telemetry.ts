import { performance } from 'node:perf_hooks';
import {
  currentRequestContext,
  type InferenceRunOutcome,
  type MemoryTelemetry,
  type ObservedOperation,
  type SpanAttributes,
  type TenantUsageCounter,
  type TraceCarrier,
} from '@engram/memory-core';
import type { Tracing } from '../tracing/tracing.js';
import type { EngramMetrics } from './engram-metrics.js';

/**
 * The core's MemoryTelemetry: a duration histogram per operation always, and a span (child of the request's) when
 * tracing is on. Spans carry the tenant id, because a trace is looked up one request at a time; metrics never do.
 */
export class ObservedMemoryTelemetry implements MemoryTelemetry {
  constructor(
    private readonly metrics: EngramMetrics,
    private readonly tracing: Tracing,
  ) {}

  observe<T>(operation: ObservedOperation, run: () => Promise<T>, items?: number): Promise<T> {
    return this.tracing.enabled ? this.traced(operation, run, items) : this.timed(operation, run, items);
  }

  inferenceFinished(outcome: InferenceRunOutcome): void {
    this.metrics.recordInference(outcome);
  }

  traceCarrier(): TraceCarrier | undefined {
    return this.tracing.inject();
  }

  continueTrace<T>(name: string, carriers: readonly (TraceCarrier | undefined)[], run: () => Promise<T>): Promise<T> {
    return this.tracing.continueTrace(name, carriers, run);
  }

  inSpan<T>(name: string, attributes: SpanAttributes, run: () => Promise<T>): Promise<T> {
    return this.tracing.inSpan(name, attributes, run);
  }

  annotate(attributes: SpanAttributes): void {
    this.tracing.annotate(attributes);
  }

  tenantUsage(tenantId: string, counter: TenantUsageCounter, amount: number): void {
    this.metrics.recordTenantUsage(tenantId, counter, amount);
  }

  private async timed<T>(operation: ObservedOperation, run: () => Promise<T>, items?: number): Promise<T> {
    const started = performance.now();
    try {
      const result = await run();
      this.metrics.recordOperation(operation, 'ok', (performance.now() - started) / 1000, items);
      return result;
    } catch (error) {
      this.metrics.recordOperation(operation, 'error', (performance.now() - started) / 1000, items);
      throw error;
    }
  }

  private traced<T>(operation: ObservedOperation, run: () => Promise<T>, items?: number): Promise<T> {
    const attributes: Record<string, string | number> = { 'engram.operation': operation };
    if (items !== undefined) attributes['engram.items'] = items;
    const principal = currentRequestContext()?.principal;
    if (principal?.kind === 'tenant') attributes['engram.tenant_id'] = principal.tenantId;
    const name = operation === 'embedding_batch' ? 'embedding.batch' : `memory.${operation}`;
    return this.tracing.inSpan(name, attributes, () => this.timed(operation, run, items));
  }
}
