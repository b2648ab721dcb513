/**
 * Turns text into vectors. One instance per model; `embed` takes a batch because every backend
 * (local model, remote endpoint) is much faster per text in batches.
 */
export interface Embedder {
  /** Identifies the model; stored with every vector so a model change is detected. */
  readonly model: string;
  readonly dimensions: number;
  embed(texts: readonly string[]): Promise<number[][]>;
  /** Optional: release model memory or connections. */
  close?(): Promise<void>;
}
