import type { InferenceEvent } from '@engram/inference';

/** An inference event as the native API shows it (`POST /v1/memories` with infer, `GET /v1/events/{id}`). */
export function presentInferenceEvent(event: InferenceEvent) {
  return {
    id: event.id,
    status: event.status,
    engine: event.engine,
    user_id: event.userId,
    agent_id: event.agentId,
    run_id: event.runId,
    namespace: event.namespace,
    results: event.outcomes.map((outcome) => ({
      op: outcome.op,
      memory_id: outcome.memoryId,
      content: outcome.content,
      previous_content: outcome.previousContent,
      reason: outcome.reason,
    })),
    error: event.error,
    created_at: event.createdAt.toISOString(),
    updated_at: event.updatedAt.toISOString(),
  };
}
