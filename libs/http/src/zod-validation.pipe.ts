import { Injectable, type PipeTransform } from '@nestjs/common';
import { MemoryException } from '@engram/memory-core';
import type { z } from 'zod';

/** Where the value came from, so messages say `body.importance` or `query.limit`. */
export type InputSource = 'body' | 'query' | 'path';

/**
 * Validates one request part against a zod schema and returns the parsed (typed, coerced) value.
 * A failure is a 400 that names every offending field and what is wrong with it.
 */
@Injectable()
export class ZodValidationPipe<S extends z.ZodType> implements PipeTransform<unknown, z.output<S>> {
  constructor(
    private readonly schema: S,
    private readonly source: InputSource,
    /** For a single path parameter: its name, which the schema itself does not know. */
    private readonly name?: string,
  ) {}

  transform(value: unknown): z.output<S> {
    if (
      this.source === 'body' &&
      (value === undefined || value === null || typeof value !== 'object' || Array.isArray(value))
    ) {
      throw MemoryException.validation('the request body must be a JSON object');
    }
    const parsed = this.schema.safeParse(value ?? {});
    if (parsed.success) return parsed.data;
    const problems = parsed.error.issues.map((issue) => ({
      field: [this.source, ...(this.name ? [this.name] : []), ...issue.path.map(String)].join('.'),
      message: issue.message,
    }));
    throw MemoryException.validation(problems.map((p) => `${p.field}: ${p.message}`).join('; '), problems);
  }
}
