import type { MigrationInterface } from 'typeorm';
import type { MigrationQueryRunner } from '../schema/memory-migrations.js';

/**
 * `inference_events.request`: the messages and options of an inference until it is done. The job on the queue carries
 * only the event's id, so an acknowledged conversation lives in Postgres, not in Redis: a worker that dies mid-way,
 * or a Redis that loses its jobs, leaves an event that the sweep runs again rather than one that must be failed. The
 * column is emptied when the event finishes, and deleted with the event by a GDPR erase.
 */
export class InferenceEventsKeepTheirRequest1795443900000 implements MigrationInterface {
  readonly name = 'InferenceEventsKeepTheirRequest1795443900000';

  async up(queryRunner: MigrationQueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE inference_events ADD COLUMN request jsonb`);
  }

  async down(queryRunner: MigrationQueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE inference_events DROP COLUMN request`);
  }
}
