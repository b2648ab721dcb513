import type { MigrationInterface } from 'typeorm';
import type { MigrationQueryRunner } from '../schema/memory-migrations.js';

/**
 * `inference_events`: the durable record of each `infer: true` add (PostgresInferenceEventStore), so that an event
 * outlives a restart and is seen by every API process. It keeps no message text: only the scope, the status and,
 * once done, the outcomes (`results`, which name the memories written and their contents, so a GDPR erase deletes a
 * subject's events with its memories).
 *
 * Indexes start with tenant_id like every tenant table's: by user for the erase, and a small partial index of the
 * unfinished events, which the boot-time sweep of events left `running` by a crash reads.
 */
export class CreateInferenceEvents1795443000000 implements MigrationInterface {
  readonly name = 'CreateInferenceEvents1795443000000';

  async up(queryRunner: MigrationQueryRunner): Promise<void> {
    await queryRunner.query(`CREATE TABLE inference_events (
      tenant_id uuid NOT NULL,
      id uuid NOT NULL,
      user_id text,
      agent_id text,
      run_id text,
      namespace text,
      status text NOT NULL CHECK (status IN ('pending', 'running', 'succeeded', 'failed')),
      engine text NOT NULL,
      results jsonb NOT NULL DEFAULT '[]'::jsonb,
      error text,
      created_at timestamptz NOT NULL,
      updated_at timestamptz NOT NULL,
      PRIMARY KEY (tenant_id, id)
    )`);
    await queryRunner.query(`CREATE INDEX inference_events_user_idx ON inference_events (tenant_id, user_id)`);
    await queryRunner.query(
      `CREATE INDEX inference_events_unfinished_idx ON inference_events (tenant_id, updated_at)
        WHERE status IN ('pending', 'running')`,
    );
  }

  async down(queryRunner: MigrationQueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE inference_events`);
  }
}
