/** A turn of the conversation an inference reads. */
export interface InferenceMessage {
  role: 'user' | 'assistant' | 'system' | 'tool';
  content: string;
  name?: string;
}

/** A memory of the scope that a candidate fact may repeat, refine or contradict. */
export interface ExistingMemory {
  /** The memory's id, or `fact:<n>` for the memory this same inference adds for fact n (see MemoryDecision). */
  id: string;
  content: string;
}

export type MemoryOp = 'ADD' | 'UPDATE' | 'DELETE' | 'NONE';

/**
 * What to do with one candidate fact. `fact` is its index in the list given to `decide`; `target` names an existing
 * memory (or `fact:<n>`: the memory added for an earlier fact of the same inference); `reason` is kept with the
 * outcome, in the event and on the memory.
 */
export type MemoryDecision =
  | { fact: number; op: 'ADD'; content: string; reason: string }
  | { fact: number; op: 'UPDATE'; target: string; content: string; reason: string }
  | { fact: number; op: 'DELETE'; target: string; reason: string }
  | { fact: number; op: 'NONE'; target?: string; reason: string };

/**
 * Turns a conversation into memory operations, in two steps: `extract` the candidate facts, then `decide` for each
 * one against the scope's memories that resemble it. Two implementations: `LlmInferenceEngine` (any
 * OpenAI-compatible chat endpoint, LLM_*) and `RuleBasedInferenceEngine` (offline, the default). Either throws
 * `InferenceException` when it cannot answer; the caller then keeps the messages as they are (nothing is lost).
 */
export interface InferenceEngine {
  /** `llm` or `rules`: recorded with every outcome. */
  readonly name: string;
  extract(messages: readonly InferenceMessage[]): Promise<string[]>;
  /** One decision per fact, in the order of the facts. */
  decide(facts: readonly string[], existing: readonly ExistingMemory[]): Promise<MemoryDecision[]>;
}

export enum InferenceExceptionCode {
  /** The model's reply was not the JSON asked for, twice. */
  BAD_OUTPUT = 'INFERENCE_BAD_OUTPUT',
  /** The endpoint could not be reached or refused the call. */
  UNAVAILABLE = 'INFERENCE_UNAVAILABLE',
}

export class InferenceException extends Error {
  constructor(
    readonly code: InferenceExceptionCode,
    message: string,
  ) {
    super(message);
    this.name = 'InferenceException';
  }
}

/** The id by which a decision names the memory added for an earlier fact of the same inference. */
export function factRef(index: number): string {
  return `fact:${index}`;
}
