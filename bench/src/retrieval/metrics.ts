/**
 * Retrieval metrics as the locomo-dev README defines them. R@k is the fraction of a question's evidence ids found
 * in its top k results, so a question with three evidence turns and two of them in the top 5 scores R@5 2/3;
 * MRR is the mean of 1 / (rank of the first evidence id found), 0 when none is found. Every metric is computed
 * per question and then averaged over the questions (of a category, or all of them).
 */

export const CUTOFFS = [1, 5, 10] as const;

/** One searched question: its category, the ids that answer it, and the ids the search returned, best first. */
export interface QuestionOutcome {
  category: string;
  evidence: readonly string[];
  /** null where a result could not be mapped back to an id: it occupies its rank but matches nothing. */
  ranked: readonly (string | null)[];
}

export interface RetrievalScores {
  r1: number;
  r5: number;
  r10: number;
  mrr: number;
  /** Questions averaged over. */
  n: number;
}

export interface RetrievalSummary {
  overall: RetrievalScores;
  /** In the order of the `categories` given to `summarise`, then any others by name. */
  byCategory: Map<string, RetrievalScores>;
}

export function recallAt(ranked: readonly (string | null)[], evidence: readonly string[], k: number): number {
  if (!Number.isInteger(k) || k < 1) throw new RangeError(`k must be a positive integer, got ${k}`);
  const wanted = new Set(evidence);
  if (wanted.size === 0) throw new RangeError('a question needs at least one evidence id');
  // A result list may name the same id twice (e.g. two copies of a memory): it is found once.
  const found = new Set(ranked.slice(0, k).filter((id): id is string => id !== null && wanted.has(id)));
  return found.size / wanted.size;
}

export function reciprocalRank(ranked: readonly (string | null)[], evidence: readonly string[]): number {
  const wanted = new Set(evidence);
  const index = ranked.findIndex((id) => id !== null && wanted.has(id));
  return index === -1 ? 0 : 1 / (index + 1);
}

export function summarise(outcomes: readonly QuestionOutcome[], categories: readonly string[] = []): RetrievalSummary {
  const groups = new Map<string, QuestionOutcome[]>(categories.map((name) => [name, []]));
  for (const outcome of outcomes) {
    const group = groups.get(outcome.category) ?? [];
    group.push(outcome);
    groups.set(outcome.category, group);
  }
  const byCategory = new Map<string, RetrievalScores>();
  for (const [name, group] of groups) {
    if (group.length > 0) byCategory.set(name, score(group));
  }
  return { overall: score(outcomes), byCategory };
}

function score(outcomes: readonly QuestionOutcome[]): RetrievalScores {
  const n = outcomes.length;
  if (n === 0) return { r1: 0, r5: 0, r10: 0, mrr: 0, n: 0 };
  const mean = (metric: (outcome: QuestionOutcome) => number) =>
    outcomes.reduce((sum, outcome) => sum + metric(outcome), 0) / n;
  const [r1, r5, r10] = CUTOFFS.map((k) => mean((o) => recallAt(o.ranked, o.evidence, k)));
  return { r1, r5, r10, mrr: mean((o) => reciprocalRank(o.ranked, o.evidence)), n };
}
