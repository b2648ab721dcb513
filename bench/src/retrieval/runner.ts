import { BATCH_MAX, type SearchMode } from '@engram/memory-core';
import { memoryContent, type Conversation, type RetrievalDataset } from './dataset.js';
import type { QuestionOutcome } from './metrics.js';
import { BenchError, type BenchMemory, type MemoryState, type RetrievalTarget } from './retrieval-target.js';

/** Results per question: R@10 needs ten. */
export const SEARCH_LIMIT = 10;
/** How long to keep polling memories that `wait` returned still pending (a slow CPU embedding thousands). */
const READY_TIMEOUT_MS = 30 * 60_000;
const READY_POLL_MS = 500;

export interface RetrievalRun {
  outcomes: QuestionOutcome[];
  memories: number;
  ingestMs: number;
  searchMs: number;
}

export type Progress = (line: string) => void;

/**
 * Adds every conversation's turns as the memories of one user (the conversation id), waits until all of them are
 * searchable, then searches each question in its own conversation, as the dataset prescribes.
 */
export async function runRetrieval(
  target: RetrievalTarget,
  dataset: RetrievalDataset,
  mode: SearchMode,
  progress: Progress,
): Promise<RetrievalRun> {
  const ingestStarted = performance.now();
  let memories = 0;
  for (const conversation of dataset.conversations) {
    const started = performance.now();
    await ingest(target, conversation);
    memories += conversation.turns.length;
    progress(
      `${conversation.id}: ${conversation.turns.length} memories searchable in ${seconds(performance.now() - started)}`,
    );
  }
  const ingestMs = performance.now() - ingestStarted;

  const searchStarted = performance.now();
  const outcomes: QuestionOutcome[] = [];
  for (const question of dataset.questions) {
    const hits = await target.search(question.conv, question.question, mode, SEARCH_LIMIT);
    outcomes.push({
      category: question.category_name,
      evidence: question.evidence,
      ranked: hits.map((hit) => hit.diaId),
    });
  }
  const searchMs = performance.now() - searchStarted;
  progress(`${outcomes.length} questions searched in ${mode} mode in ${seconds(searchMs)}`);
  return { outcomes, memories, ingestMs, searchMs };
}

async function ingest(target: RetrievalTarget, conversation: Conversation): Promise<void> {
  await target.clear(conversation.id);
  const memories: BenchMemory[] = conversation.turns.map((turn) => ({
    content: memoryContent(turn),
    metadata: { dia_id: turn.id, session: turn.session, session_time: turn.session_time },
  }));
  let states: MemoryState[] = [];
  for (let start = 0; start < memories.length; start += BATCH_MAX) {
    states.push(...(await target.addBatch(conversation.id, memories.slice(start, start + BATCH_MAX))));
  }
  // `wait` gives up after the server's wait limit; a benchmark of a half-embedded store would measure nothing.
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (true) {
    const failed = states.filter((state) => state.status === 'failed');
    if (failed.length > 0) {
      throw new BenchError(
        `${conversation.id}: ${failed.length} memories failed to embed (first: ${failed[0].failureReason ?? 'no reason given'})`,
      );
    }
    const pending = states.filter((state) => state.status === 'pending').length;
    if (pending === 0) break;
    if (Date.now() > deadline) {
      throw new BenchError(
        `${conversation.id}: ${pending} memories still pending after ${seconds(READY_TIMEOUT_MS)}; is a worker running?`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, READY_POLL_MS));
    states = await target.states(conversation.id);
  }
  if (states.length !== memories.length) {
    throw new BenchError(
      `${conversation.id}: the user holds ${states.length} memories after adding ${memories.length}`,
    );
  }
}

export function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}
