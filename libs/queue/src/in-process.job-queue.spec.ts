import { describeJobQueueContract } from '../test/job-queue.contract.js';
import { InProcessJobQueue } from './in-process.job-queue.js';

describeJobQueueContract('in-process', () => new InProcessJobQueue({ backoffMs: 10 }));
