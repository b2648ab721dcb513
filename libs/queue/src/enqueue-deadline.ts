import { MemoryException, MemoryExceptionCode } from '@engram/memory-core';

/**
 * How long an enqueue may wait for Redis. The BullMQ connections retry forever (`maxRetriesPerRequest: null`, so
 * that workers ride out a Redis restart), which would leave a request hanging while Redis is away; past this the
 * caller hears DEPENDENCY_UNAVAILABLE instead. The command itself is not cancelled: it is sent once Redis is back,
 * and BullMQ's job ids make that harmless next to the reconciler's re-enqueue.
 */
export const ENQUEUE_DEADLINE_MS = 5_000;

export async function withinEnqueueDeadline<T>(queueName: string, enqueue: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new MemoryException(
            MemoryExceptionCode.DEPENDENCY_UNAVAILABLE,
            `the queue ${queueName} (Redis) did not answer within ${ENQUEUE_DEADLINE_MS / 1000} s`,
          ),
        ),
      ENQUEUE_DEADLINE_MS,
    );
  });
  try {
    return await Promise.race([enqueue, deadline]);
  } finally {
    clearTimeout(timer);
  }
}
