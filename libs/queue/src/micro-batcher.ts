import { runOutsideRequestContext } from '@engram/memory-core';

/**
 * Gathers items that arrive close together into one batch: a BullMQ worker hands jobs over one at a
 * time (one per concurrency slot), while the embedder is many times faster per text in batches.
 * Each `submit` resolves or rejects with the outcome of the batch its item went into.
 */
export class MicroBatcher<T> {
  private pending: Array<{ item: T; resolve: () => void; reject: (error: unknown) => void }> = [];
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly run: (items: T[]) => Promise<void>,
    private readonly maxSize: number,
    /** How long the first item of a batch waits for company. */
    private readonly maxWaitMs: number,
  ) {}

  submit(item: T): Promise<void> {
    return new Promise((resolve, reject) => {
      this.pending.push({ item, resolve, reject });
      if (this.pending.length >= this.maxSize) this.flush();
      else this.timer ??= setTimeout(() => this.flush(), this.maxWaitMs);
    });
  }

  private flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const batch = this.pending;
    this.pending = [];
    if (batch.length === 0) return;
    // A batch gathers many jobs (of many tenants): it runs outside the context of whichever submit completed it.
    runOutsideRequestContext(() => this.run(batch.map((entry) => entry.item))).then(
      () => batch.forEach((entry) => entry.resolve()),
      (error: unknown) => batch.forEach((entry) => entry.reject(error)),
    );
  }
}
