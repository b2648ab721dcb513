/** Queue names shared by the API (producer) and the workers (consumers). */
export const EMBEDDING_QUEUE_NAME = 'engram-embeddings';
export const INFERENCE_QUEUE_NAME = 'engram-inference';

/**
 * The Redis key prefix of a queue (BullMQ's keys are `<prefix>:<queue name>:<suffix>`). The hash tag in braces puts
 * every key of one queue in one Redis Cluster slot, which BullMQ's multi-key scripts need; on a single Redis it is only
 * a name. Whoever opens a queue by hand (tests, an operator's script) must pass the same prefix.
 */
export function queuePrefix(queueName: string): string {
  return `{${queueName}}`;
}
