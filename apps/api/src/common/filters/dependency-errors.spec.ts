import { describe, expect, it } from '@jest/globals';
import { MemoryExceptionCode } from '@engram/memory-core';
import { renderError } from './api-exception.filter.js';
import { isDependencyConnectionError } from './dependency-errors.js';

const withCode = (message: string, code: string) => Object.assign(new Error(message), { code });
const named = (message: string, name: string) => {
  const error = new Error(message);
  Object.defineProperty(error, 'name', { value: name });
  return error;
};

describe('isDependencyConnectionError', () => {
  it.each([
    ['a refused socket', withCode('connect ECONNREFUSED 127.0.0.1:5432', 'ECONNREFUSED')],
    ['a reset socket', withCode('read ECONNRESET', 'ECONNRESET')],
    [
      'Postgres shutting down (SQLSTATE 57P01)',
      withCode('terminating connection due to administrator command', '57P01'),
    ],
    ['a Postgres connection exception (SQLSTATE 08006)', withCode('connection failure', '08006')],
    ['ioredis giving up on a command', named('Reached the max retries per request limit', 'MaxRetriesPerRequestError')],
    ['ioredis with its connection closed', new Error('Connection is closed.')],
    ['pg losing the connection mid-query', new Error('Connection terminated unexpectedly')],
    ['every address refused', new AggregateError([withCode('refused', 'ECONNREFUSED')], 'connect failed')],
  ])('recognises %s', (_, error) => {
    expect(isDependencyConnectionError(error)).toBe(true);
  });

  it.each([
    ['a bug of ours', new TypeError("Cannot read properties of undefined (reading 'id')")],
    ['a constraint violation', withCode('duplicate key value violates unique constraint', '23505')],
    ['a message that merely mentions a connection', new Error('Connection is closed. Or is it?')],
    ['something that is not an error', { code: 'ECONNREFUSED' }],
  ])('does not take %s for an outage', (_, error) => {
    expect(isDependencyConnectionError(error)).toBe(false);
  });
});

describe('renderError for a client error that escaped its provider', () => {
  it('answers 503 DEPENDENCY_UNAVAILABLE with Retry-After, never a 500', () => {
    const rendered = renderError(named('Reached the max retries per request limit', 'MaxRetriesPerRequestError'));
    expect(rendered).toMatchObject({
      status: 503,
      code: MemoryExceptionCode.DEPENDENCY_UNAVAILABLE,
      headers: { 'retry-after': '5' },
    });
  });

  it('still answers 500 for anything else', () => {
    expect(renderError(new TypeError('boom'))).toMatchObject({ status: 500, code: 'INTERNAL_ERROR' });
  });
});
