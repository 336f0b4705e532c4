import { applyDecorators, PipeTransform } from '@nestjs/common';
import { ApiBody, ApiQuery } from '@nestjs/swagger';
import { z } from 'zod';
import { ApiError, FieldProblem } from './api-error';

export function zodProblems(error: z.ZodError): FieldProblem[] {
  return error.issues.map((issue) => ({
    field: issue.path.length > 0 ? issue.path.join('.') : '(root)',
    reason: issue.message,
  }));
}

export function describeProblems(where: string, problems: FieldProblem[]): string {
  return `${where}: ${problems.map((p) => `${p.field}: ${p.reason}`).join('; ')}`;
}

/** Validates and converts a body or query against a zod schema; a 400 names each bad field. */
export function parseInput<S extends z.ZodType>(
  schema: S,
  value: unknown,
  where: 'body' | 'query' = 'body',
): z.infer<S> {
  const parsed = schema.safeParse(value ?? (where === 'body' ? undefined : {}));
  if (parsed.success) return parsed.data;
  const problems = zodProblems(parsed.error);
  throw ApiError.badRequest(describeProblems(`invalid ${where}`, problems), problems);
}

/** parseInput as a Nest pipe (`@Body(new ZodPipe(schema))`). */
export class ZodPipe<S extends z.ZodType> implements PipeTransform<unknown, z.infer<S>> {
  constructor(
    private readonly schema: S,
    private readonly where: 'body' | 'query' = 'body',
  ) {}

  transform(value: unknown): z.infer<S> {
    return parseInput(this.schema, value, this.where);
  }
}

/** Documents a zod-validated body in the OpenAPI document. */
export function ApiZodBody(schema: z.ZodType, description?: string): MethodDecorator {
  return applyDecorators(
    ApiBody({
      schema: z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as object,
      description,
    }),
  );
}

/** Documents each field of a zod object schema as a query parameter. */
export function ApiZodQuery(schema: z.ZodObject): MethodDecorator {
  const json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as {
    properties?: Record<string, object>;
    required?: string[];
  };
  return applyDecorators(
    ...Object.entries(json.properties ?? {}).map(([name, property]) =>
      ApiQuery({ name, required: json.required?.includes(name) ?? false, schema: property }),
    ),
  );
}

export const uuidParam = z.uuid({ message: 'must be a UUID' });
/** What z.uuid() accepts, tested directly on the hot path (a schema parse allocates a result per call). */
const UUID = z.regexes.uuid();

/** Path ids are UUIDs; anything else cannot exist, so it is a 404 rather than a database error. */
export function parseId(what: string, id: string): string {
  if (typeof id !== 'string' || !UUID.test(id)) throw ApiError.notFound(what, id);
  return id;
}
