import type { FastifyReply, FastifyRequest } from 'fastify';
import type { z } from 'zod';

/** One invalid field of a request: `field` is a dotted path such as `options.maxAttempts`. */
export interface FieldProblem {
  field: string;
  message: string;
}

/**
 * Turns zod issues into field problems, naming unknown fields one by one. Given the validated `input`, a
 * field that is missing from it is reported as missing instead of as a value of the wrong type.
 */
export function fieldProblems(issues: readonly z.core.$ZodIssue[], prefix = '', input?: unknown): FieldProblem[] {
  return issues.flatMap((issue) => {
    const base = [prefix, ...issue.path.map(String)].filter(Boolean).join('.');
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => ({ field: base ? `${base}.${key}` : key, message: `unknown field '${key}'` }));
    }
    if (issue.code === 'invalid_type' && isMissingField(input, issue.path)) {
      return [{ field: base, message: `missing required field (expected ${issue.expected})` }];
    }
    return [{ field: base || 'body', message: issue.message }];
  });
}

/** True when the object that `path` leads into exists in `input` and has no key for the path's last step. */
export function isMissingField(input: unknown, path: readonly PropertyKey[]): boolean {
  const last = path.at(-1);
  if (last === undefined) return false;
  let parent: unknown = input;
  for (const key of path.slice(0, -1)) {
    if (typeof parent !== 'object' || parent === null) return false;
    parent = (parent as Record<PropertyKey, unknown>)[key];
  }
  return typeof parent === 'object' && parent !== null && !Array.isArray(parent) && !Object.hasOwn(parent, last);
}

/** Sends 400 with every invalid field named, in the message and as a list. */
export function replyInvalid(reply: FastifyReply, problems: FieldProblem[]): FastifyReply {
  return reply.code(400).send({
    error: 'invalid request',
    message: problems.map((problem) => `${problem.field}: ${problem.message}`).join('; '),
    fields: problems,
  });
}

/** Parses with a schema, or sends 400 and returns undefined. */
export function parseOrReply<T extends z.ZodType>(
  reply: FastifyReply,
  schema: T,
  value: unknown,
  prefix = '',
): z.infer<T> | undefined {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  replyInvalid(reply, fieldProblems(parsed.error.issues, prefix, value));
  return undefined;
}

/**
 * Returns the request body as an object, or sends 415 for a body of another media type and returns
 * undefined. Form fields all arrive as strings, so a form's `size` of digits is read as a number here,
 * while a JSON body must carry a number.
 */
export function readObjectBody(request: FastifyRequest, reply: FastifyReply): Record<string, unknown> | undefined {
  const body = request.body ?? {};
  const mediaType = (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  const isJson = mediaType === 'application/json';
  if ((typeof body === 'string' && !isJson) || Buffer.isBuffer(body)) {
    reply.code(415).send({
      error: 'unsupported media type',
      message: 'send the fields as a JSON object (application/json) or as form fields (application/x-www-form-urlencoded)',
    });
    return undefined;
  }
  // A JSON string, number or array parses but is not an object of fields.
  if (typeof body !== 'object' || Array.isArray(body)) {
    replyInvalid(reply, [{ field: 'body', message: 'the body must be a JSON object' }]);
    return undefined;
  }
  const fields = { ...(body as Record<string, unknown>) };
  const isForm = mediaType === 'application/x-www-form-urlencoded';
  if (isForm && typeof fields.size === 'string' && /^\d{1,15}$/.test(fields.size)) fields.size = Number(fields.size);
  return fields;
}
