/** Collects per-operation latencies and summarises them as the benchmark's JSON reports them. */
export interface LatencySummary {
  n: number;
  p50_ms: number;
  p95_ms: number;
  p99_ms: number;
  ops_s: number;
}

export class LatencyRecorder {
  private readonly samples: number[] = [];
  errors = 0;

  record(ms: number): void {
    this.samples.push(ms);
  }

  summary(elapsedMs: number): LatencySummary {
    const sorted = [...this.samples].sort((a, b) => a - b);
    const at = (q: number) => (sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]);
    const round = (x: number) => Math.round(x * 100) / 100;
    return {
      n: sorted.length,
      p50_ms: round(at(0.5)),
      p95_ms: round(at(0.95)),
      p99_ms: round(at(0.99)),
      ops_s: round((sorted.length / elapsedMs) * 1000),
    };
  }
}

/** Runs `operation` from `concurrency` loops until `durationMs` has passed. */
export async function drive(
  concurrency: number,
  durationMs: number,
  operation: (loop: number) => Promise<void>,
  recorder: LatencyRecorder,
): Promise<number> {
  const started = performance.now();
  const deadline = started + durationMs;
  await Promise.all(
    Array.from({ length: concurrency }, async (_, loop) => {
      while (performance.now() < deadline) {
        const t0 = performance.now();
        try {
          await operation(loop);
          recorder.record(performance.now() - t0);
        } catch {
          recorder.errors++;
        }
      }
    }),
  );
  return performance.now() - started;
}
