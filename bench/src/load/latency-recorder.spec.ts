import { describe, expect, it } from '@jest/globals';
import { LatencyRecorder, drive } from './latency-recorder.js';

describe('LatencyRecorder', () => {
  it('reports nearest-rank percentiles and throughput', () => {
    const recorder = new LatencyRecorder();
    for (let ms = 1; ms <= 100; ms++) recorder.record(ms);
    expect(recorder.summary(2000)).toEqual({ n: 100, p50_ms: 51, p95_ms: 96, p99_ms: 100, ops_s: 50 });
  });

  it('reports zeros for no samples', () => {
    expect(new LatencyRecorder().summary(1000)).toEqual({ n: 0, p50_ms: 0, p95_ms: 0, p99_ms: 0, ops_s: 0 });
  });

  it('drives every loop and counts failures apart from latencies', async () => {
    const recorder = new LatencyRecorder();
    const loops = new Set<number>();
    let calls = 0;
    await drive(
      3,
      30,
      async (loop) => {
        loops.add(loop);
        const call = ++calls;
        await new Promise((resolve) => setTimeout(resolve, 1));
        // Every loop runs at least once (they all start before the deadline), so call 2 always happens and fails,
        // however slowly a loaded machine runs the timers.
        if (call === 2 || call % 5 === 0) throw new Error('boom');
      },
      recorder,
    );
    expect(loops).toEqual(new Set([0, 1, 2]));
    expect(recorder.summary(30).n + recorder.errors).toBe(calls);
    expect(recorder.errors).toBeGreaterThan(0);
  });
});
