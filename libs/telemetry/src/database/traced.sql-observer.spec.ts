import { describe, expect, it } from '@jest/globals';
import { describeStatement, STATEMENT_TEXT_LIMIT } from './traced.sql-observer.js';

describe('describeStatement', () => {
  it.each([
    ['INSERT INTO memories (id) VALUES ($1)', 'INSERT memories', 'memories'],
    ['update memory_history SET x = $1', 'UPDATE memory_history', 'memory_history'],
    ['DELETE FROM public."memories" WHERE id = $1', 'DELETE public.memories', 'public.memories'],
    ['SELECT id, content FROM memories m WHERE tenant_id = $1', 'SELECT memories', 'memories'],
    ['  -- why\n/* and how */ SELECT id FROM memories', 'SELECT memories', 'memories'],
  ])('should name %j after its operation and table', (text, name, table) => {
    const { name: actual, attributes } = describeStatement(text);
    expect(actual).toBe(name);
    expect(attributes).toMatchObject({ 'db.system': 'postgresql', 'db.sql.table': table, 'db.statement': text });
  });

  it.each([
    ['SELECT count(*) FROM memories', 'SELECT'],
    ['SELECT extract(epoch FROM now())', 'SELECT'],
    ['WITH hits AS (SELECT 1) SELECT * FROM hits', 'WITH'],
    ['BEGIN', 'BEGIN'],
  ])('should name %j after its operation alone when its table is not plain to see', (text, operation) => {
    const { name, attributes } = describeStatement(text);
    expect(name).toBe(operation);
    expect(attributes['db.operation']).toBe(operation);
    expect(attributes).not.toHaveProperty('db.sql.table');
  });

  it('should fall back to pg.query for a statement without a keyword', () => {
    expect(describeStatement('  ').name).toBe('pg.query');
  });

  it('should cap the statement text', () => {
    const text = `SELECT id FROM memories WHERE id IN (${'$1, '.repeat(400)}$2)`;
    expect(describeStatement(text).attributes['db.statement']).toBe(text.slice(0, STATEMENT_TEXT_LIMIT));
  });
});
