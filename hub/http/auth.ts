import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest, RouteOptions } from 'fastify';
import type { HttpRole } from '../config/security-schema.js';
import { HubError } from '../core/errors.js';
import type { Sessions } from './login.js';

/**
 * Who may call a route. `token` (the default of every route, also of routes added by
 * plugins) needs http.token or a signed-in user, and the admin role for any method but
 * GET and HEAD; `admin` needs the token or a user with
 * the admin role; `public` carries no data (the dashboard's files, the sign-in form);
 * `health` answers everyone, but only says ok or not without a sign-in.
 */
export type Access = 'token' | 'admin' | 'public' | 'health';

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: Access;
  }
  interface FastifyRequest {
    /** The request carried http.token or a live session (always true when neither is configured). */
    authorized: boolean;
    /** Its role: admin for the bearer token (or when nothing is configured), else the session's. */
    role: HttpRole | undefined;
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
export function installAuth(app: FastifyInstance, token: string | undefined, sessions?: Sessions): void {
  app.decorateRequest('authorized', false);
  app.decorateRequest('role', undefined);
  const check = token ? tokenChecker(token) : undefined;
  const open = check === undefined && !sessions?.enabled;
  app.addHook('onRequest', async (req) => {
    if (open || check?.(presented(req))) req.role = 'admin';
    else req.role = sessions?.of(req)?.role;
    req.authorized = req.role !== undefined;
    if (req.is404) return;
    const access = req.routeOptions.config?.access ?? 'token';
    if (access === 'public' || access === 'health') return;
    if (!req.authorized)
      throw new HubError(
        'HUB_UNAUTHORIZED',
        'sign in (POST /api/login) or send Authorization: Bearer <http.token>',
      );
    // A viewer reads; changing anything (removing or renaming a device, acknowledging an
    // alert, a silence) is an admin's.
    const changes = req.method !== 'GET' && req.method !== 'HEAD';
    if ((access === 'admin' || changes) && req.role !== 'admin')
      throw new HubError('HUB_FORBIDDEN', 'this route needs the admin role');
  });
}

/** An onRoute hook for a plugin scope whose routes carry no data (static files). */
export function markPublic(route: RouteOptions): void {
  route.config = { ...(route.config as object | undefined), access: 'public' };
}
