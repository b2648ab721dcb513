import { afterAll } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import { queuePrefix } from './queue-names.js';
import { describeJobQueueContract, type TestJob } from '../test/job-queue.contract.js';
import { BullMqJobQueue } from './bullmq.job-queue.js';

const REDIS_URL = process.env.ENGRAM_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const names: string[] = [];

// A fresh queue name per queue: tests never see each other's jobs, and Redis is left as it was.
describeJobQueueContract('BullMQ', () => {
  const queueName = `engram-test-jobs-${randomUUID()}`;
  names.push(queueName);
  return new BullMqJobQueue<TestJob>({ redisUrl: REDIS_URL, queueName, backoffMs: 10 });
});

afterAll(async () => {
  for (const name of names) {
    const admin = new Queue(name, { connection: { url: REDIS_URL }, prefix: queuePrefix(name) });
    await admin.obliterate({ force: true });
    await admin.close();
  }
});
