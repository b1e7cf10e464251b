import { z } from 'zod';
import { parseDuration } from '../core/duration.js';
import { ID_PATTERN } from '../core/reading.js';
import { shown } from './messages.js';

/** "500ms", "1s", "5m" or a number of milliseconds; parsed to milliseconds. */
export const duration = z.union([z.number(), z.string()]).transform((v, ctx) => {
  const ms = parseDuration(v);
  if (ms === undefined) {
    ctx.addIssue({
      code: 'custom',
      message: `expected a duration such as "500ms", "1s", "5m" or a number of milliseconds, got ${JSON.stringify(v)}`,
    });
    return z.NEVER;
  }
  return ms;
});

export const id = z.string().regex(ID_PATTERN, {
  error: (iss) => `expected an id of [A-Za-z0-9_.-]{1,64}, got ${shown(iss.input)}`,
});
