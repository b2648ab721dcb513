/**
 * The observer the core reports its work to (metrics, spans), bound to `MEMORY_TELEMETRY`. The core only knows this
 * interface: `@engram/telemetry` implements it with Prometheus histograms and OpenTelemetry spans, and without it
 * the no-op default costs one function call per operation.
 */

/** What the core measures: the MemoryService operations, and the embedding pipeline's batches. */
export type ObservedOperation =
  | 'add'
  | 'get'
  | 'update'
  | 'delete'
  | 'delete_all'
  | 'list'
  | 'search'
  | 'history'
  | 'owners'
  | 'count'
  | 'embedding_batch';

/** What a tenant's usage is counted in (the cloud's usage tracker): one series per tenant and counter. */
export type TenantUsageCounter = 'requests' | 'memories_added' | 'searches' | 'reads' | 'embedding_tokens';

/** How an inference run ended: stored its decisions, stored the messages raw after a failure, or stored nothing. */
export type InferenceRunOutcome = 'succeeded' | 'fallback' | 'failed';

/**
 * The W3C trace context (`traceparent`, `tracestate`) of the work that queued a job, carried in the job, so that the
 * worker's spans join that trace across processes.
 */
export type TraceCarrier = Readonly<Record<string, string>>;

/** Span attributes: never memory content, never keys; ids, counts and modes only. */
export type SpanAttributes = Readonly<Record<string, string | number>>;

export interface MemoryTelemetry {
  /**
   * Runs one operation and records its duration and outcome (a rejection is an `error`, and is rethrown as is).
   * `items` is how many memories or jobs it carried, for the operations that take many.
   */
  observe<T>(operation: ObservedOperation, run: () => Promise<T>, items?: number): Promise<T>;
  /** One inference run finished. */
  inferenceFinished(outcome: InferenceRunOutcome): void;
  /** The active trace, to put in a job being queued; undefined when tracing is off. */
  traceCarrier(): TraceCarrier | undefined;
  /**
   * Runs a job's work in a consumer span that continues the trace that queued it. A batch of jobs queued by several
   * requests continues the first one's trace and links the others'.
   */
  continueTrace<T>(name: string, carriers: readonly (TraceCarrier | undefined)[], run: () => Promise<T>): Promise<T>;
  /** Runs one step of an operation (a search's query embedding, its SQL) in a child span; tracing only. */
  inSpan<T>(name: string, attributes: SpanAttributes, run: () => Promise<T>): Promise<T>;
  /** Adds attributes to the active span (a search's mode and result count). */
  annotate(attributes: SpanAttributes): void;
  /** A tenant's usage was counted (the cloud edition): `amount` more of `counter`. */
  tenantUsage(tenantId: string, counter: TenantUsageCounter, amount: number): void;
}

/** The default when no telemetry is bound (unit tests, embedders of the core). */
export const NOOP_MEMORY_TELEMETRY: MemoryTelemetry = {
  observe: (_operation, run) => run(),
  inferenceFinished: () => undefined,
  traceCarrier: () => undefined,
  continueTrace: (_name, _carriers, run) => run(),
  inSpan: (_name, _attributes, run) => run(),
  annotate: () => undefined,
  tenantUsage: () => undefined,
};

/** A class whose methods are `@Observed`: it keeps the bound telemetry in this field. */
export interface TelemetryHolder {
  readonly telemetry?: MemoryTelemetry;
}

/**
 * Measures a service method through its instance's `telemetry` field, so that a call site is one decorator line and
 * the method body stays the service's logic. `itemsOf` counts what the call carries (a batch's size) from its
 * arguments.
 */
export function Observed<F = never>(operation: ObservedOperation, itemsOf?: (first: F) => number) {
  return <M extends (first: F, ...rest: never[]) => Promise<unknown>>(
    _target: object,
    _key: string | symbol,
    descriptor: TypedPropertyDescriptor<M>,
  ): void => {
    const method = descriptor.value;
    if (!method) return;
    descriptor.value = function (this: TelemetryHolder, ...args: Parameters<M>) {
      const telemetry = this.telemetry ?? NOOP_MEMORY_TELEMETRY;
      return telemetry.observe(operation, () => method.apply(this, args), itemsOf?.(args[0]));
    } as M;
  };
}
