import { describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');

/** Runs the built worker (jest's global setup builds the apps once). */
describe('the worker process', () => {
  it('refuses to start without the shared Postgres and Redis, with one clear line', () => {
    const result = spawnSync(process.execPath, ['apps/worker/dist/main.js'], {
      cwd: root,
      env: { PATH: process.env.PATH ?? '' },
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(result.status).toBe(1);
    const lines = result.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('a separate worker needs REDIS_URL and DATABASE_URL');
  });
});
