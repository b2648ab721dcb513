import { context, SpanStatusCode, type Span } from '@opentelemetry/api';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { StructuredLogger } from '../logging/structured.logger.js';
import type { EngramMetrics } from '../metrics/engram-metrics.js';
import type { Tracing } from '../tracing/tracing.js';

export interface HttpTelemetryOptions {
  metrics: EngramMetrics;
  tracing: Tracing;
  /** The access log's destination; null or false for none. */
  logger: StructuredLogger | null | false;
  /** The tenant the request was authenticated as, for the access log (the app's guard knows where it keeps it). */
  tenantOf?: (request: FastifyRequest) => string | undefined;
}

/** Probes and scrapes, every few seconds from machines: logged at debug so they do not drown the requests. */
const PROBE_ROUTES = new Set(['/health', '/ready', '/metrics']);
/** No route matched (a 404 of the router): one label value for all of them, since the URL may be anything. */
const UNMATCHED = 'unmatched';

type SpannedRequest = FastifyRequest & { engramSpan: Span | null };

/**
 * Instruments every request of a Fastify app: the duration histogram by method, route pattern and status, the
 * access log line, and with tracing a server span that the handler runs inside (so the service's spans are its
 * children). The work per request is one histogram observation, plus the log line when info is enabled.
 */
export function instrumentHttp(fastify: FastifyInstance, options: HttpTelemetryOptions): void {
  const { metrics, tracing, tenantOf } = options;
  const logger = options.logger || null;

  if (tracing.enabled) {
    // Declared up front so every request object has the same shape (Fastify's advice for per-request state).
    fastify.decorateRequest('engramSpan', null);
    fastify.addHook('onRequest', (request, _reply, done) => {
      (request as SpannedRequest).engramSpan = tracing.startServerSpan(request.method, request.headers, {
        'http.request.method': request.method,
      });
      done();
    });
    // After the body is read (its stream callbacks would lose the context): the handler and everything it awaits
    // run inside the span's context from here on.
    fastify.addHook('preHandler', (request, _reply, done) => {
      const span = (request as SpannedRequest).engramSpan;
      if (span) context.with(tracing.contextOf(span), done);
      else done();
    });
  }

  fastify.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url ?? UNMATCHED;
    const status = reply.statusCode;
    const elapsedMs = reply.elapsedTime;
    metrics.recordHttpRequest(request.method, route, status, elapsedMs / 1000);

    const span = tracing.enabled ? (request as SpannedRequest).engramSpan : null;
    if (span) {
      span.updateName(`${request.method} ${route}`);
      span.setAttributes({ 'http.route': route, 'http.response.status_code': status });
      if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
    }

    const level = PROBE_ROUTES.has(route) ? 'debug' : 'info';
    if (logger?.isEnabled(level)) {
      logger.write(level, 'http', 'request', {
        method: request.method,
        route,
        status,
        duration_ms: Math.round(elapsedMs * 100) / 100,
        request_id: String(request.id),
        tenant_id: tenantOf?.(request),
      });
    }
    done();
  });
}
