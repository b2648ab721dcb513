import type { Job, JobState, Queue } from 'bullmq';
import { Redis } from 'ioredis';

/**
 * Every state a job record can be found in, upstream first: a job moving on while the states are read is met again
 * downstream; one moving back (a failed attempt waiting for its retry) is met by the next scan.
 */
const STATES_UPSTREAM_FIRST: readonly JobState[] = [
  'delayed',
  'prioritized',
  'waiting-children',
  'waiting',
  'active',
  'completed',
  'failed',
];
const PAGE = 500;

export interface ScannedJob<T> {
  job: Job<T> & { id: string };
  state: JobState;
}

/** Reads every job record of the queue, a page at a time, and returns those whose data matches. */
export async function findJobs<T>(
  queue: Queue<T, unknown, string, T, unknown, string>,
  matches: (data: T) => boolean,
): Promise<ScannedJob<T>[]> {
  const found: ScannedJob<T>[] = [];
  for (const state of STATES_UPSTREAM_FIRST) {
    for (let start = 0; ; start += PAGE) {
      const page = await queue.getJobs([state], start, start + PAGE - 1, true);
      for (const job of page) {
        // A job removed while the page was read comes back empty.
        if (job?.id && job.data && matches(job.data)) found.push({ job: job as Job<T> & { id: string }, state });
      }
      if (page.length < PAGE) break;
    }
  }
  return found;
}

/**
 * Removes found jobs; returns how many went, and how many are still there (locked by a worker: the caller waits and
 * scans again). A job that vanished meanwhile (finished and removed by its age) counts as neither.
 */
export async function removeFoundJobs<T>(
  queue: Queue<T, unknown, string, T, unknown, string>,
  found: readonly ScannedJob<T>[],
): Promise<{ removed: number; remaining: number }> {
  let removed = 0;
  let remaining = 0;
  for (const { job, state } of found) {
    if (state !== 'active' && (await queue.remove(job.id)) === 1) removed++;
    else if ((await queue.getJobState(job.id)) !== 'unknown') remaining++;
  }
  return { removed, remaining };
}

/**
 * Deletes the entries of the queue's event stream (`added`, `waiting`, `completed`, `removed`…) whose job id
 * matches: they outlive the job records, and an erase must leave no trace of the subject's jobs.
 */
export async function removeEventEntries(
  redisUrl: string,
  queue: Pick<Queue, 'toKey'>,
  matchesJobId: (jobId: string) => boolean,
): Promise<void> {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 3, lazyConnect: true });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    const key = queue.toKey('events');
    for (let from = '-'; ;) {
      const entries = await redis.xrange(key, from, '+', 'COUNT', PAGE);
      const named = entries.filter(([, fields]) => {
        const jobId = fieldOf(fields, 'jobId');
        return jobId !== undefined && matchesJobId(jobId);
      });
      if (named.length > 0) await redis.xdel(key, ...named.map(([id]) => id));
      if (entries.length < PAGE) break;
      from = `(${entries[entries.length - 1][0]}`;
    }
  } finally {
    redis.disconnect();
  }
}

function fieldOf(fields: readonly string[], name: string): string | undefined {
  for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i] === name) return fields[i + 1];
  return undefined;
}
