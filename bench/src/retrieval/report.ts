import type { SearchMode } from '@engram/memory-core';
import type { RetrievalScores, RetrievalSummary } from './metrics.js';
import type { RetrievalRun } from './runner.js';
import { seconds } from './runner.js';
import type { TargetDescription } from './retrieval-target.js';

export interface ReportContext {
  dataset: string;
  mode: SearchMode;
  target: TargetDescription;
  run: RetrievalRun;
}

/** The human-readable result: what ran, then one row per category and the overall row. */
export function formatReport(summary: RetrievalSummary, context: ReportContext): string {
  const { run, target } = context;
  const rows: [string, RetrievalScores][] = [...summary.byCategory.entries(), ['overall', summary.overall]];
  const nameWidth = Math.max(8, ...rows.map(([name]) => name.length));
  const line = (cells: string[]) =>
    [cells[0].padEnd(nameWidth), ...cells.slice(1).map((cell) => cell.padStart(6))].join('  ');
  const table = [
    line(['category', 'n', 'R@1', 'R@5', 'R@10', 'MRR']),
    ...rows.map(([name, s]) => line([name, String(s.n), fixed(s.r1), fixed(s.r5), fixed(s.r10), fixed(s.mrr)])),
  ];
  const meanSearchMs = run.outcomes.length > 0 ? run.searchMs / run.outcomes.length : 0;
  return [
    `retrieval benchmark: ${context.dataset}`,
    `mode ${context.mode} · embedder ${target.embedder} · provider ${target.provider} · service ${target.service}`,
    '',
    ...table,
    '',
    `n ${summary.overall.n} questions over ${run.memories} memories · ingest ${seconds(run.ingestMs)} · ` +
      `search ${seconds(run.searchMs)} (${meanSearchMs.toFixed(1)} ms per question) · total ${seconds(run.ingestMs + run.searchMs)}`,
  ].join('\n');
}

/** The JSON of API.md: `{"overall": {"r1","r5","r10","mrr","n"}, "by_category": {name: {...}}}`. */
export function jsonReport(summary: RetrievalSummary): {
  overall: RetrievalScores;
  by_category: Record<string, RetrievalScores>;
} {
  return { overall: summary.overall, by_category: Object.fromEntries(summary.byCategory) };
}

function fixed(value: number): string {
  return value.toFixed(3);
}
