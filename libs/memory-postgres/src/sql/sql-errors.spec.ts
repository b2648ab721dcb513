import { describe, expect, it } from '@jest/globals';
import { MemoryException, MemoryExceptionCode } from '@engram/memory-core';
import { translateSqlError } from './sql-errors.js';

function sqlError(code: string, message = 'boom'): Error {
  return Object.assign(new Error(message), { code });
}

describe('translateSqlError', () => {
  it.each([
    ['22021', MemoryExceptionCode.VALIDATION_FAILED],
    ['22P05', MemoryExceptionCode.VALIDATION_FAILED],
    ['40001', MemoryExceptionCode.CONFLICT],
    ['40P01', MemoryExceptionCode.CONFLICT],
    ['08006', MemoryExceptionCode.DEPENDENCY_UNAVAILABLE],
    ['57P01', MemoryExceptionCode.DEPENDENCY_UNAVAILABLE],
    ['53300', MemoryExceptionCode.DEPENDENCY_UNAVAILABLE],
    ['ECONNREFUSED', MemoryExceptionCode.DEPENDENCY_UNAVAILABLE],
  ])('should turn SQLSTATE %s into %s', (code, expected) => {
    const translated = translateSqlError(sqlError(code));
    expect(translated).toBeInstanceOf(MemoryException);
    expect((translated as MemoryException).code).toBe(expected);
  });

  it('should report a connection lost mid-query as the database being unavailable', () => {
    const translated = translateSqlError(new Error('Connection terminated unexpectedly'));
    expect((translated as MemoryException).code).toBe(MemoryExceptionCode.DEPENDENCY_UNAVAILABLE);
  });

  it('should leave our own bugs (syntax, constraints) and typed errors as they are', () => {
    const syntax = sqlError('42601');
    const constraint = sqlError('23505');
    const typed = MemoryException.notFound('x');
    expect(translateSqlError(syntax)).toBe(syntax);
    expect(translateSqlError(constraint)).toBe(constraint);
    expect(translateSqlError(typed)).toBe(typed);
  });
});
