import {
  context,
  propagation,
  ROOT_CONTEXT,
  trace,
  SpanKind,
  SpanStatusCode,
  type Context,
  type Link,
  type Span,
  type Tracer,
} from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { traceRedisCommands } from '../database/traced.redis-commands.js';

export interface TracingOptions {
  /** OTEL_EXPORTER_OTLP_ENDPOINT: the collector's base URL; spans go to `<endpoint>/v1/traces` as OTLP/HTTP JSON. */
  endpoint?: string;
  /** `service.name` of the spans: `engram-api`, `engram-worker`. */
  serviceName: string;
}

let contextInstalled = false;

/**
 * The process's context manager (AsyncLocalStorage) and W3C `traceparent` propagation: installed once, whichever
 * app starts tracing first, because both are process-wide in the OpenTelemetry API.
 */
function installContext(): void {
  if (contextInstalled) return;
  contextInstalled = true;
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
}

/**
 * OpenTelemetry tracing for one app, or nothing when no endpoint is configured: then `tracer` is null and every
 * instrumented path skips span work entirely (one null check), so tracing costs nothing when it is off.
 *
 * The app holds its own provider rather than registering a global one, so that two apps in one process (tests)
 * export to their own endpoints; only the context manager is shared.
 */
export class Tracing {
  private stopRedisTracing: () => void = () => undefined;

  private constructor(
    private readonly provider: TracerProvider | null,
    readonly tracer: Tracer | null,
  ) {}

  static disabled(): Tracing {
    return new Tracing(null, null);
  }

  static start(options: TracingOptions): Tracing {
    if (!options.endpoint) return Tracing.disabled();
    installContext();
    const exporter = new OTLPTraceExporter({ url: `${options.endpoint.replace(/\/+$/, '')}/v1/traces` });
    const provider = new TracerProvider({
      resource: resourceFromAttributes({ 'service.name': options.serviceName }),
      spanProcessors: [new BatchSpanProcessor({ exporter })],
    });
    const tracing = new Tracing(provider, provider.getTracer('engram'));
    // Redis commands are traced process-wide (ioredis has no per-client hook): by this app's tracer until it stops.
    tracing.stopRedisTracing = traceRedisCommands(tracing.tracer!);
    return tracing;
  }

  get enabled(): boolean {
    return this.tracer !== null;
  }

  /** Starts a server span for an incoming request, continuing the caller's trace when it sent `traceparent`. */
  startServerSpan(name: string, headers: Record<string, unknown>, attributes: Record<string, string>): Span | null {
    if (!this.tracer) return null;
    const parent = propagation.extract(context.active(), headers);
    return this.tracer.startSpan(name, { kind: SpanKind.SERVER, attributes }, parent);
  }

  /** The context in which a request's handler runs, so that the spans it starts are children of `span`. */
  contextOf(span: Span): Context {
    return trace.setSpan(context.active(), span);
  }

  /** Runs `fn` inside a child span of the active one; a rejection marks the span as an error. */
  async inSpan<T>(
    name: string,
    attributes: Readonly<Record<string, string | number>>,
    fn: () => Promise<T>,
  ): Promise<T> {
    if (!this.tracer) return fn();
    return this.tracer.startActiveSpan(name, { attributes }, (span) => endedAfter(span, fn));
  }

  /** The active span's context as W3C headers (`traceparent`), for a job being queued; undefined when tracing is off. */
  inject(): Record<string, string> | undefined {
    if (!this.tracer || !trace.getSpan(context.active())) return undefined;
    const carrier: Record<string, string> = {};
    propagation.inject(context.active(), carrier);
    return carrier.traceparent ? carrier : undefined;
  }

  /**
   * Runs a job's work in a CONSUMER span whose parent is the first carrier's span (the request that queued it) and
   * which links the others (the other requests whose jobs share a batch).
   */
  async continueTrace<T>(
    name: string,
    carriers: readonly (Record<string, string> | undefined)[],
    fn: () => Promise<T>,
  ): Promise<T> {
    if (!this.tracer) return fn();
    const contexts = carriers
      .filter((carrier): carrier is Record<string, string> => carrier !== undefined)
      .map((carrier) => propagation.extract(ROOT_CONTEXT, carrier))
      .filter((extracted) => trace.getSpanContext(extracted) !== undefined);
    const [parent = ROOT_CONTEXT, ...others] = contexts;
    const links: Link[] = others.map((other) => ({ context: trace.getSpanContext(other)! }));
    const span = this.tracer.startSpan(name, { kind: SpanKind.CONSUMER, links }, parent);
    return context.with(trace.setSpan(parent, span), () => endedAfter(span, fn));
  }

  /** Adds attributes to the active span, if there is one. */
  annotate(attributes: Readonly<Record<string, string | number>>): void {
    if (!this.tracer) return;
    trace.getSpan(context.active())?.setAttributes(attributes);
  }

  /** Sends the spans still buffered; the app calls it at shutdown. */
  async shutdown(): Promise<void> {
    this.stopRedisTracing();
    await this.provider?.shutdown();
  }
}

/** Runs `fn` and ends `span` after it; a rejection is recorded on the span (error status) and rethrown. */
async function endedAfter<T>(span: Span, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    span.recordException(error as Error);
    span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message });
    throw error;
  } finally {
    span.end();
  }
}
