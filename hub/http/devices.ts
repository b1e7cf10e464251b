import { z } from 'zod';
import { ID_PATTERN } from '../core/reading.js';
import { notFound } from './errors.js';
import { deviceParams } from './params.js';
import type { RouteModule } from './route-module.js';

/** Tags a device may carry through the API, so one PATCH cannot grow the registry without bound. */
export const MAX_TAGS = 32;
const NAME = /^(?!\s*$)[^\p{Cc}]{1,64}$/u;
const TAG_VALUE = /^[^\p{Cc}]{1,128}$/u;
const nameError = 'name: expected text of 1 to 64 characters without control characters, or null';

/**
 * The tags of a PATCH: names of the id alphabet, text values, null to remove one. Read
 * key by key into a null-prototype record, so "constructor" or "toString" is a tag
 * like any other ("__proto__" never gets here: the JSON parser refuses it).
 */
const tagsPatch = z.unknown().transform((v, ctx) => {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    ctx.addIssue({
      code: 'custom',
      message: 'tags: expected an object of tag names to text (null removes one)',
    });
    return z.NEVER;
  }
  const out = Object.create(null) as Record<string, string | null>;
  const entries = Object.entries(v);
  if (entries.length > MAX_TAGS) {
    ctx.addIssue({ code: 'custom', message: `tags: at most ${MAX_TAGS} tags` });
    return z.NEVER;
  }
  for (const [k, value] of entries) {
    if (!ID_PATTERN.test(k)) {
      ctx.addIssue({
        code: 'custom',
        message: `tags: a tag name is 1 to 64 of [A-Za-z0-9_.-], not ${JSON.stringify(k.slice(0, 70))}`,
      });
      return z.NEVER;
    }
    if (value !== null && (typeof value !== 'string' || !TAG_VALUE.test(value))) {
      ctx.addIssue({
        code: 'custom',
        message: `tags.${k}: expected text of 1 to 128 characters without control characters, or null`,
      });
      return z.NEVER;
    }
    out[k] = value;
  }
  return out;
});

export const settingsBody = z.strictObject(
  {
    name: z
      .union([z.string({ error: nameError }).regex(NAME, { error: nameError }), z.null()], {
        error: nameError,
      })
      .optional(),
    tags: tagsPatch.optional(),
  },
  {
    error: (iss) =>
      iss.code === 'unrecognized_keys'
        ? `unknown field ${iss.keys.map((k) => JSON.stringify(k.slice(0, 40))).join(', ')}: expected name or tags`
        : 'expected a JSON object with name and/or tags',
  },
);

/**
 * The devices the registry knows: list (with counts by state that add up to the
 * total, `waiting` included), one device, its removal and its name and labels.
 */
export const devicesRoutes: RouteModule = (app, deps) => {
  app.get('/api/devices', async () => {
    const counts = deps.registry.countByState();
    return {
      devices: deps.registry.list(),
      counts: { ...counts, total: counts.online + counts.stale + counts.offline + counts.waiting },
    };
  });

  app.get('/api/devices/:id', { schema: { params: deviceParams } }, async (req) => {
    const { id } = req.params;
    return deps.registry.get(id) ?? notFound(`no device ${id}`);
  });

  app.delete('/api/devices/:id', { schema: { params: deviceParams } }, async (req) =>
    deps.devices.remove(req.params.id),
  );

  app.patch(
    '/api/devices/:id',
    { schema: { params: deviceParams, body: settingsBody }, bodyLimit: 16 * 1024 },
    async (req) => deps.devices.update(req.params.id, req.body),
  );
};
