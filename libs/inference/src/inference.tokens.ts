/** DI tokens of inference: the engine (LLM or rules, from LLM_*) and where events are kept. */
export const INFERENCE_ENGINE = Symbol('INFERENCE_ENGINE');
export const INFERENCE_EVENT_STORE = Symbol('INFERENCE_EVENT_STORE');
/** The JobQueue<InferenceJob> the API puts inferences on and the workers take them from. */
export const INFERENCE_QUEUE = Symbol('INFERENCE_QUEUE');
