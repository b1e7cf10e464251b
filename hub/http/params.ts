import { z } from 'zod';
import { ID_PATTERN } from '../core/reading.js';

/**
 * Schemas of request values, in the wording the API answers with. Query values are
 * text, given once, and short: a repeated key arrives as an array, and no parameter
 * of this API needs more than a timestamp or an id. A schema's output holds only its
 * own keys, so names such as __proto__ in a request never reach a lookup.
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

/** The `:id` of a device route. */
export const deviceParams = z.object({ id: idParam('id') });
