import type { Span, Tracer } from '@opentelemetry/api';
import type { InMemorySpanExporter, ReadableSpan, TracerProvider } from '@opentelemetry/sdk-trace';

export interface CapturedSpans {
  parent: ReadableSpan;
  children: ReadableSpan[];
}

/**
 * Runs `work` under a parent span named `request` and returns the spans that ended: that parent, and the others.
 * A failure of `work` is swallowed: the tests assert on it through the spans.
 */
export async function captureSpans(
  tracer: Tracer,
  provider: TracerProvider,
  exporter: InMemorySpanExporter,
  work: () => Promise<unknown>,
): Promise<CapturedSpans> {
  await tracer.startActiveSpan('request', async (span: Span) => {
    try {
      await work();
    } catch {
      // Asserted on from the spans.
    } finally {
      span.end();
    }
  });
  await provider.forceFlush();
  const spans = exporter.getFinishedSpans();
  const parent = spans.find((span) => span.name === 'request')!;
  return { parent, children: spans.filter((span) => span !== parent) };
}
