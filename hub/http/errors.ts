import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import type { Logger } from 'pino';
import { HubError, type HubErrorCode } from '../core/errors.js';
import type { HttpApp } from './route-module.js';

/** HTTP status of each error code the API answers with. */
export const STATUS: Partial<Record<HubErrorCode, number>> = {
  HUB_BAD_REQUEST: 400,
  HUB_UNAUTHORIZED: 401,
  HUB_FORBIDDEN: 403,
  HUB_NOT_FOUND: 404,
  HUB_CONFLICT: 409,
  HUB_STREAM_FULL: 503,
};

/** The one shape of every error answer. */
export interface ErrorBody {
  error: HubErrorCode;
  message: string;
}

/**
 * The message of a zod validation failure: the first problem of each parameter ("too
 * long" says enough without "and not an id"), in the schema's own wording.
 */
export function validationMessage(issues: ReadonlyArray<{ instancePath: string; message?: string }>): string {
  const byParam = new Map<string, string>();
  for (const i of issues)
    if (!byParam.has(i.instancePath)) byParam.set(i.instancePath, i.message ?? 'invalid');
  return [...byParam.values()].join('; ');
}

const send = (reply: FastifyReply, status: number, error: HubErrorCode, message: string) =>
  reply.code(status).send({ error, message } satisfies ErrorBody);

/**
 * Every error answer of the API in one JSON shape `{error, message}` with a code of
 * hub/core/errors.ts. A failure inside the hub is a 500 whose message says only where
 * to look: the error itself may hold paths, queries or InfluxDB's answer.
 */
export function installErrorHandling(app: HttpApp, log: Logger): void {
  app.setErrorHandler((err: FastifyError, req: FastifyRequest, reply: FastifyReply) => {
    if (err instanceof HubError) {
      const status = STATUS[err.code];
      if (status !== undefined) return send(reply, status, err.code, err.message);
    }
    if (hasZodFastifySchemaValidationErrors(err))
      return send(reply, 400, 'HUB_BAD_REQUEST', validationMessage(err.validation));
    // fastify's own refusals of a request (bad content type, body too large): the client's mistake.
    const code = err.statusCode;
    // The static files' refusals (a `..` path is 403): not found, like any unknown route.
    if (code === 403 || code === 404) return send(reply, 404, 'HUB_NOT_FOUND', 'not found');
    if (code !== undefined && code >= 400 && code < 500)
      return send(reply, code, 'HUB_BAD_REQUEST', err.message);
    log.error({ err, reqId: req.id, route: req.routeOptions.url }, 'request failed');
    return send(reply, 500, 'HUB_INTERNAL', `internal error (request ${req.id}); see the hub log`);
  });

  // Says nothing about what exists: not the URL, not whether a token would help.
  app.setNotFoundHandler((_req, reply) => send(reply, 404, 'HUB_NOT_FOUND', 'not found'));
}

/** Answers HTTP 404 (HUB_NOT_FOUND). */
export function notFound(message: string): never {
  throw new HubError('HUB_NOT_FOUND', message);
}

/** Refuses a request with HTTP 400 (HUB_BAD_REQUEST) and the reason. */
export function badRequest(message: string): never {
  throw new HubError('HUB_BAD_REQUEST', message);
}
