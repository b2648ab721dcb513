import type { InferenceEngine } from './inference-engine.js';
import { LlmInferenceEngine, type LlmInferenceConfig } from './llm.inference-engine.js';
import { RuleBasedInferenceEngine } from './rule-based.inference-engine.js';

/** The LLM engine when LLM_BASE_URL and LLM_MODEL are configured, else the offline rules. */
export function createInferenceEngine(llm: LlmInferenceConfig | undefined): InferenceEngine {
  return llm ? LlmInferenceEngine.fromConfig(llm) : new RuleBasedInferenceEngine();
}
