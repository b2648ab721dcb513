import { Body, Param, Query } from '@nestjs/common';
import { ApiBody } from '@nestjs/swagger';
import { toJSONSchema, type z } from 'zod';
import { ZodValidationPipe } from './zod-validation.pipe.js';

/** `@ValidBody(schema)`: the body, parsed by the schema (400 naming the fields otherwise). */
export const ValidBody = (schema: z.ZodType) => Body(new ZodValidationPipe(schema, 'body'));
export const ValidQuery = (schema: z.ZodType) => Query(new ZodValidationPipe(schema, 'query'));
export const ValidParam = (name: string, schema: z.ZodType) => Param(name, new ZodValidationPipe(schema, 'path', name));

/** Documents a body in OpenAPI from the same zod schema that validates it. */
export const ApiJsonBody = (schema: z.ZodType) =>
  ApiBody({ schema: toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as OpenApiSchema });

/** Swagger's schema type, which the package does not export by name. */
type OpenApiSchema = Extract<Parameters<typeof ApiBody>[0], { schema: unknown }>['schema'];
