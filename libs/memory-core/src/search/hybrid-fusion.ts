/**
 * Hybrid relevance: how the keyword leg, the vector leg and the speaker signal are fused into one score in [0, 1].
 * Every provider implements exactly this, so that hybrid search ranks alike (and a threshold means the same) on
 * every backend; the local provider calls `fuseHybrid`, SQL providers compute the same formula in their statement.
 *
 * For a search with result limit L, over the memories in the caller's scope that pass the filter:
 *
 *   kw(m)  = the keyword leg's raw relevance, > 0 when some query word matches (BM25 in the local provider; the
 *            full-text rank in SQL); memories without a match have no kw.
 *   cos(m) = max(0, cosine similarity) between the query's and the memory's vector, for memories with a vector
 *            of the query's model and dimension (a comparable vector); the others (pending, or another model)
 *            have no cos. The query's vector is that of its name-free text (speaker-label.ts,
 *            `withoutNamedSpeakers`; MemoryService embeds it), while kw and spk see the full text.
 *   spk(m) = 1 when the query names the memory's speaker label (speaker-label.ts), else 0.
 *
 *   P          = max(HYBRID_MIN_CANDIDATES, 2·L) candidates per leg
 *   candidates = the top P by kw  ∪  the top P by cos   (each ordered by score, then id descending)
 *   K(m)       = kw(m) / max kw    (0 when m has no kw)     max over the candidates = over the whole leg
 *   V(m)       = cos(m) / max cos  (0 when m has no cos)
 *   S(m)       = spk(m)
 *   total      = wK·[max kw > 0] + wV·[max cos > 0] + wS·[max spk = 1]
 *
 *   hybrid₁(m) = (wK·K(m) + wV·V(m) + wS·S(m)) / total                                     (pass 1)
 *
 * for m in candidates, where [c] is 1 when c holds and 0 otherwise (a signal no candidate has does not count
 * against the others: a memory first in both legs scores 1 when no speaker label is named), and 0 for every
 * candidate when total is 0. The weights are wK = 0.5, wV = 0.5, wS = 0.2. Each term is in [0, 1] and the weights
 * are normalised, so hybrid₁(m) is in [0, 1].
 *
 * Pass 2, feedback on the vector leg (Rocchio's pseudo-relevance feedback, done on similarities rather than on the
 * query vector, so that SQL needs nothing but distances between stored vectors):
 *
 *   F          = the top k candidates by hybrid₁ (then id descending) that have a cos; k = 3
 *   c₂(m)      = max(0, cos(m) + β · mean over f in F of cosine(m, f))   for candidates with a cos;  β = 0.5
 *   V₂(m)      = c₂(m) / max c₂   (0 when m has no cos, when max c₂ = 0, or when max cos = 0)
 *   hybrid(m)  = (wK·K(m) + wV·V₂(m) + wS·S(m)) / total                                    (the relevance)
 *
 * over the same candidates and with the same total, so hybrid(m) is in [0, 1] too. cosine(m, f) is the raw cosine
 * similarity of the two memories' vectors (in [-1, 1]; 0 when either is the zero vector, which has no direction;
 * m in F meets itself: 1). The memories that best match the whole query, names and words included, say what the
 * answer looks like; their neighbours move up even when the question shares few words with them. Recency,
 * importance, threshold and limit then apply to hybrid(m) as to every mode's relevance.
 *
 * A candidate takes both legs' real scores, not 0 for the leg whose top P it missed: in SQL, compute kw and cos
 * for every candidate of the union (the row has its vector and its text). Then the maxima are those of the whole
 * legs and the fused score of every candidate is what a full scan would give; on the dev set a pool of 40 per leg
 * already ranked the top 10 exactly as the full scan did. In SQL: `kw / NULLIF(max(kw) OVER (), 0)`, with
 * COALESCE(…, 0) for the missing ones, and the same for cos; the feedback costs at most k·|candidates| distances.
 *
 * Why this and not reciprocal rank fusion: measured on the whole locomo-dev set with the local embedder (see
 * docs/benchmarks.md), RRF (k 60, equal weights) ranked below BM25 alone (R@10 0.604 / MRR 0.383 against
 * 0.636 / 0.492), because a weak vector leg gets as many votes as a strong keyword leg; the best weighted RRF
 * reached 0.648 / 0.495, this linear fusion of max-normalised scores 0.667 / 0.518, and the speaker signal takes it
 * to 0.698 / 0.549 (RRF with the same signal: 0.670 / 0.531). Dividing by the maximum keeps the fusion free of each
 * leg's scale (BM25 and ts_rank differ, cosines differ per model). The name-free query vector takes it to
 * 0.707 / 0.550 and the feedback pass to 0.720 / 0.553; every k in 1-7 with β in 0.25-1 gives R@10 0.708-0.720.
 *
 * wK ≥ wV matters: a memory without a vector yet that is first in the keyword leg scores at least as high as the
 * best memory the vector leg alone finds (the contract kit checks this for pending memories); V₂ ≤ 1 keeps it so.
 */

export interface HybridWeights {
  readonly keyword: number;
  readonly vector: number;
  readonly speaker: number;
}

/** Tuned on the whole locomo-dev set; the plateau around them (wK 0.45-0.55, wS 0.15-0.3) is within ±0.01. */
export const HYBRID_WEIGHTS: HybridWeights = { keyword: 0.5, vector: 0.5, speaker: 0.2 };

/** Candidates per leg never below this, so small limits still fuse over a useful neighbourhood. */
export const HYBRID_MIN_CANDIDATES = 100;

/** k: how many of pass 1's best candidates (with a vector) feed back into the vector leg. */
export const HYBRID_FEEDBACK_DOCS = 3;

/** β: the weight of the feedback candidates' mean similarity next to the query's own cosine. */
export const HYBRID_FEEDBACK_WEIGHT = 0.5;

export interface HybridFeedback {
  readonly docs: number;
  readonly weight: number;
}

export const HYBRID_FEEDBACK: HybridFeedback = { docs: HYBRID_FEEDBACK_DOCS, weight: HYBRID_FEEDBACK_WEIGHT };

export function hybridCandidatesPerLeg(limit: number): number {
  return Math.max(HYBRID_MIN_CANDIDATES, 2 * limit);
}

/** The legs' scores by memory id, as defined above. */
export interface HybridLegs {
  /** kw: raw keyword relevance (> 0) of the memories the keyword leg matched. */
  readonly keyword: ReadonlyMap<string, number>;
  /** cos: clamped cosine similarity of the memories with a comparable vector. */
  readonly vector: ReadonlyMap<string, number>;
  /** Ids with spk = 1. */
  readonly speaker: ReadonlySet<string>;
  /** The comparable vectors of (at least) the memories that have a cos, for the feedback step (any numeric array). */
  readonly vectors: ReadonlyMap<string, ArrayLike<number>>;
}

/** hybrid(m) for every candidate; see the module comment. */
export function fuseHybrid(
  legs: HybridLegs,
  limit: number,
  weights: HybridWeights = HYBRID_WEIGHTS,
  feedback: HybridFeedback = HYBRID_FEEDBACK,
): Map<string, number> {
  const perLeg = hybridCandidatesPerLeg(limit);
  const candidates = [...new Set([...topIds(legs.keyword, perLeg), ...topIds(legs.vector, perLeg)])];
  const maxKeyword = maxOf(legs.keyword);
  const maxVector = maxOf(legs.vector);
  const anySpeaker = candidates.some((id) => legs.speaker.has(id));
  const total =
    (maxKeyword > 0 ? weights.keyword : 0) + (maxVector > 0 ? weights.vector : 0) + (anySpeaker ? weights.speaker : 0);
  if (total === 0) return new Map(candidates.map((id) => [id, 0]));

  const fuse = (vector: ReadonlyMap<string, number>, maxVector: number): Map<string, number> => {
    const fused = new Map<string, number>();
    for (const id of candidates) {
      const keyword = maxKeyword > 0 ? (legs.keyword.get(id) ?? 0) / maxKeyword : 0;
      const cosine = maxVector > 0 ? (vector.get(id) ?? 0) / maxVector : 0;
      const speaker = legs.speaker.has(id) ? 1 : 0;
      const score = (weights.keyword * keyword + weights.vector * cosine + weights.speaker * speaker) / total;
      // Floating point can put a sum of weights that add up to the total a hair above 1.
      fused.set(id, Math.min(1, score));
    }
    return fused;
  };

  const firstPass = fuse(legs.vector, maxVector);
  if (maxVector === 0 || feedback.docs < 1 || feedback.weight === 0) return firstPass;
  const withVector = candidates.filter((id) => legs.vector.has(id) && legs.vectors.has(id));
  const feedbackIds = topIds(new Map(withVector.map((id) => [id, firstPass.get(id) ?? 0])), feedback.docs);
  if (feedbackIds.length === 0) return firstPass;

  // cosine(m, f) = m·f / (|m| |f|), norms computed once per vector and nothing allocated per candidate: this runs
  // over up to 2P candidates of hundreds of dimensions on every hybrid search.
  const feedbackVectors = feedbackIds.map((id) => legs.vectors.get(id) ?? []);
  const feedbackNorms = feedbackVectors.map((vector) => Math.sqrt(dot(vector, vector)));
  const secondCosines = new Map<string, number>();
  for (const id of withVector) {
    const vector = legs.vectors.get(id) ?? [];
    const norm = Math.sqrt(dot(vector, vector));
    let similarity = 0;
    feedbackVectors.forEach((other, i) => {
      // A zero vector has no direction: similar to nothing.
      if (norm > 0 && feedbackNorms[i] > 0) similarity += dot(vector, other) / (norm * feedbackNorms[i]);
    });
    const cosine = (legs.vector.get(id) ?? 0) + (feedback.weight * similarity) / feedbackVectors.length;
    secondCosines.set(id, Math.max(0, cosine));
  }
  return fuse(secondCosines, maxOf(secondCosines));
}

/** Equal scores are ordered newest first: ids are uuid v7, time-ordered, so this is SQL's `ORDER BY id DESC`. */
export function compareIdsNewestFirst(a: string, b: string): number {
  return a < b ? 1 : a > b ? -1 : 0;
}

function topIds(scores: ReadonlyMap<string, number>, count: number): string[] {
  return [...scores.entries()]
    .sort(([idA, a], [idB, b]) => b - a || compareIdsNewestFirst(idA, idB))
    .slice(0, count)
    .map(([id]) => id);
}

function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += a[i] * b[i];
  return sum;
}

function maxOf(scores: ReadonlyMap<string, number>): number {
  let max = 0;
  for (const score of scores.values()) if (score > max) max = score;
  return max;
}
