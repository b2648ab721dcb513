/** Queue names shared by the API (producer) and the workers (consumers). */
export const EMBEDDING_QUEUE_NAME = 'engram-embeddings';
export const INFERENCE_QUEUE_NAME = 'engram-inference';
