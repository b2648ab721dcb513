import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { namesSpeaker, queryWords, speakerLabelWords } from '@engram/memory-core';
import { testDatabaseUrl } from '@engram/testing';
import { SqlParams } from '../filters/sql-params.js';
import { PgSqlExecutor } from '../sql/pg.sql-executor.js';
import { PgliteSqlExecutor } from '../sql/pglite.sql-executor.js';
import type { SqlExecutor } from '../sql/sql-executor.js';
import { speakerNamedSql } from './search.queries.js';

/** Contents and questions where the label rule has an edge; SQL must agree with speaker-label.ts on each. */
const CONTENTS = [
  'Caroline: I went to the LGBTQ support group yesterday',
  '  Mary Ann: we painted a sunrise',
  'Élodie: bonjour à tous',
  'ÉLODIE: en majuscules',
  'Caroline:',
  'Caroline:no space after the colon',
  '10:30 call with the dentist',
  'https://example.com: a link',
  'Note:todo',
  'A label that is far too long to be a speaker name at all: text',
  'Caroline and Melanie: a joint message',
  'Dr. Smith: take two a day',
  'no label here',
  'Line one\nMelanie: on the second line',
];
const QUESTIONS = [
  'What did Caroline do at the support group?',
  'When did Mary Ann paint?',
  'What did élodie say?',
  'What did Caroline and Melanie write?',
  'What did Dr Smith prescribe?',
  'What did Melanie say?',
];

describe.each([
  ['PostgreSQL', async (): Promise<SqlExecutor> => new PgSqlExecutor({ connectionString: testDatabaseUrl(), max: 1 })],
  ['PGlite', (): Promise<SqlExecutor> => PgliteSqlExecutor.open()],
])('the speaker signal in SQL on %s', (_, open) => {
  let sql: SqlExecutor;

  beforeAll(async () => {
    sql = await open();
  });

  afterAll(async () => {
    await sql.close();
  });

  it.each(QUESTIONS)('should agree with speaker-label.ts for %p', async (question) => {
    const p = new SqlParams();
    const contents = p.add(CONTENTS);
    const named = speakerNamedSql('m.content', question, p);
    const rows = await sql.query<{ content: string; named: boolean }>(
      `SELECT m.content, ${named} AS named FROM unnest(${contents}::text[]) WITH ORDINALITY AS m(content, n) ORDER BY n`,
      p.values,
    );
    const words = queryWords(question);
    expect(rows).toEqual(
      CONTENTS.map((content) => ({ content, named: namesSpeaker(speakerLabelWords(content), words) })),
    );
  });
});
