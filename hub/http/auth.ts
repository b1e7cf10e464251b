import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest, RouteOptions } from 'fastify';
import { HubError } from '../core/errors.js';

/**
 * Who may call a route. `token` (the default of every route, also of routes added by
 * plugins) needs http.token; `public` carries no data (the dashboard's files); `health`
 * answers everyone, but only says ok or not without the token.
 */
export type Access = 'token' | 'public' | 'health';

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: Access;
  }
  interface FastifyRequest {
    /** The request carried http.token (always true when none is configured). */
    authorized: boolean;
  }
}

const digest = (s: string) => createHash('sha256').update(s).digest();

/** The token a request presents: `Authorization: Bearer <t>`, or `?token=` (EventSource cannot set headers). */
function presented(req: FastifyRequest): string | undefined {
  const h = req.headers.authorization;
  if (typeof h === 'string') {
    const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(h);
    if (m) return m[1];
  }
  const q = req.query as Record<string, unknown> | undefined;
  const t = q?.token;
  return typeof t === 'string' ? t : undefined;
}

/** Compares digests of equal length, so the time taken says nothing about the token. */
export function tokenChecker(token: string): (candidate: string | undefined) => boolean {
  const expected = digest(token);
  return (candidate) => candidate !== undefined && timingSafeEqual(digest(candidate), expected);
}

/**
 * Decides on the route fastify matched, never on the URL text: the router decodes
 * `%61pi`, reads absolute-form targets and so on, so any spelling that reaches a
 * route's handler passed through this check first. Requests that match no route go
 * to the not-found handler, which says nothing about what exists.
 */
export function installAuth(app: FastifyInstance, token: string | undefined): void {
  app.decorateRequest('authorized', false);
  const check = token ? tokenChecker(token) : undefined;
  app.addHook('onRequest', async (req) => {
    req.authorized = check === undefined || check(presented(req));
    if (req.authorized || req.is404) return;
    const access = req.routeOptions.config?.access ?? 'token';
    if (access === 'token')
      throw new HubError('HUB_UNAUTHORIZED', 'send Authorization: Bearer <http.token> (or ?token=)');
  });
}

/** An onRoute hook for a plugin scope whose routes carry no data (static files). */
export function markPublic(route: RouteOptions): void {
  route.config = { ...(route.config as object | undefined), access: 'public' };
}
