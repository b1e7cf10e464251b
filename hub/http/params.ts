import { z } from 'zod';
import { HubError } from '../core/errors.js';
import { ID_PATTERN } from '../core/reading.js';

/**
 * Query values are text, given once, and short: a repeated key arrives as an array,
 * and no parameter of this API needs more than a timestamp or an id.
 */
const MAX_VALUE = 128;

/** One query value. */
export const text = (name: string) =>
  z
    .string({ error: `${name}: expected one value, given once` })
    .max(MAX_VALUE, { error: `${name}: longer than ${MAX_VALUE} characters` });

/** A device or sensor id. */
export const idParam = (name: string) =>
  text(name).regex(ID_PATTERN, { error: `${name}: expected an id of [A-Za-z0-9_.-]{1,64}` });

/**
 * Validates a query or path-parameter object with a zod object schema; the first
 * problem becomes HTTP 400 (HUB_BAD_REQUEST). The output holds only the schema's keys,
 * so names such as __proto__ in the request never reach a lookup.
 */
export function parseParams<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  const r = schema.safeParse(input ?? {});
  if (r.success) return r.data;
  // The first problem of each parameter: "too long" says enough without "and not an id".
  const byParam = new Map<string, string>();
  for (const i of r.error.issues) {
    const key = i.path.join('.');
    if (!byParam.has(key)) byParam.set(key, i.message);
  }
  throw new HubError('HUB_BAD_REQUEST', [...byParam.values()].join('; '));
}

/** Answers HTTP 404 (HUB_NOT_FOUND). */
export function notFound(message: string): never {
  throw new HubError('HUB_NOT_FOUND', message);
}
