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

/** How an inference run ended: stored its decisions, stored the messages raw after a failure, or stored nothing. */
export type InferenceRunOutcome = 'succeeded' | 'fallback' | 'failed';

export interface MemoryTelemetry {
  /**
   * Runs one operation and records its duration and outcome (a rejection is an `error`, and is rethrown as is).
   * `items` is how many memories or jobs it carried, for the operations that take many.
   */
  observe<T>(operation: ObservedOperation, run: () => Promise<T>, items?: number): Promise<T>;
  /** One inference run finished. */
  inferenceFinished(outcome: InferenceRunOutcome): void;
}

/** The default when no telemetry is bound (unit tests, embedders of the core). */
export const NOOP_MEMORY_TELEMETRY: MemoryTelemetry = {
  observe: (_operation, run) => run(),
  inferenceFinished: () => undefined,
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
