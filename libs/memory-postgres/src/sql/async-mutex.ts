/** A FIFO mutex for async work: `run` calls wait for every earlier call to settle, whatever its outcome. */
export class AsyncMutex {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(work: () => Promise<T>): Promise<T> {
    const result = this.tail.then(() => work());
    // The next caller waits for this one to settle, never for it to succeed.
    this.tail = result.catch(() => undefined);
    return result;
  }
}
