import { randomBytes } from 'node:crypto';
import { parse as parseCookie, serialize as serializeCookie } from 'cookie';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { HttpRole } from '../config/security-schema.js';
import { HubError } from '../core/errors.js';
import type { UserStore } from '../security/users.js';
import type { RouteModule } from './route-module.js';

export interface LoginOptions {
  users: Pick<UserStore, 'check'>;
  /** http.users: who may sign in, with which role. */
  roles: ReadonlyArray<{ username: string; role: HttpRole }>;
  /** How long a session lasts (http.sessionTtl), in ms. */
  sessionTtl: number;
}

export const SESSION_COOKIE = 'hub_session';

/** Sessions held at once; past it the oldest ends (a flood of sign-ins cannot grow memory). */
const MAX_SESSIONS = 10_000;

interface Session {
  user: string;
  role: HttpRole;
  expires: number;
}

/**
 * Dashboard sign-in: POST /api/login checks the user's password (mqtt.passwordFile) and
 * role (http.users) and sets a session cookie (random 256-bit id, httpOnly,
 * SameSite=Strict, Secure over HTTPS); POST /api/logout ends it. Sessions live in memory:
 * a restart of the hub signs everyone out.
 */
export class Sessions {
  readonly #sessions = new Map<string, Session>();
  readonly #roles: Map<string, HttpRole>;

  constructor(private readonly opts: LoginOptions) {
    this.#roles = new Map(opts.roles.map((r) => [r.username, r.role]));
  }

  get enabled(): boolean {
    return this.#roles.size > 0;
  }

  /** The session a request's cookie names, if it is live. */
  of(req: FastifyRequest): Session | undefined {
    const header = req.headers.cookie;
    if (typeof header !== 'string') return undefined;
    const id = parseCookie(header)[SESSION_COOKIE];
    if (id === undefined) return undefined;
    const s = this.#sessions.get(id);
    if (!s) return undefined;
    if (Date.now() > s.expires) {
      this.#sessions.delete(id);
      return undefined;
    }
    return s;
  }

  async signIn(user: string, password: string): Promise<{ id: string; session: Session } | undefined> {
    // The password is checked even for a name without a role: the time says nothing.
    const ok = await this.opts.users.check(user, password);
    const role = this.#roles.get(user);
    if (!ok || role === undefined) return undefined;
    const id = randomBytes(32).toString('base64url');
    const session = { user, role, expires: Date.now() + this.opts.sessionTtl };
    this.#sessions.set(id, session);
    if (this.#sessions.size > MAX_SESSIONS) this.#sessions.delete(this.#sessions.keys().next().value!);
    return { id, session };
  }

  signOut(req: FastifyRequest): void {
    const header = req.headers.cookie;
    if (typeof header !== 'string') return;
    const id = parseCookie(header)[SESSION_COOKIE];
    if (id !== undefined) this.#sessions.delete(id);
  }
}

const body = z.object({ username: z.string().min(1).max(256), password: z.string().max(1024) });

function cookie(reply: FastifyReply, value: string, maxAgeS: number, secure: boolean): void {
  reply.header(
    'set-cookie',
    serializeCookie(SESSION_COOKIE, value, {
      httpOnly: true,
      sameSite: 'strict',
      secure,
      path: '/',
      maxAge: maxAgeS,
    }),
  );
}

/**
 * POST /api/login and /api/logout when sign-in is configured, and GET /api/whoami always
 * (public: the dashboard asks it whether to show the sign-in form).
 */
export const loginRoutes: RouteModule = (app, deps) => {
  const { sessions } = deps;
  const secure = deps.secureCookies === true;
  app.get('/api/whoami', { config: { access: 'public' } }, async (req) => ({
    signedIn: req.role !== undefined,
    user: sessions?.of(req)?.user ?? null,
    role: req.role ?? null,
    login: sessions?.enabled === true,
  }));
  if (!sessions?.enabled) return;
  app.post('/api/login', { config: { access: 'public' } }, async (req, reply) => {
    const parsed = body.safeParse(req.body);
    if (!parsed.success)
      throw new HubError('HUB_BAD_REQUEST', 'expected JSON {"username": "...", "password": "..."}');
    const s = await sessions.signIn(parsed.data.username, parsed.data.password);
    if (!s) throw new HubError('HUB_UNAUTHORIZED', 'wrong user name or password');
    cookie(reply, s.id, Math.floor((s.session.expires - Date.now()) / 1000), secure);
    return { user: s.session.user, role: s.session.role };
  });
  app.post('/api/logout', { config: { access: 'public' } }, async (req, reply) => {
    sessions.signOut(req);
    cookie(reply, '', 0, secure);
    return { ok: true };
  });
};
