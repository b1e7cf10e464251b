import type {
  FastifyBaseLogger,
  FastifyInstance,
  RawReplyDefaultExpression,
  RawRequestDefaultExpression,
  RawServerDefault,
} from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Logger } from 'pino';
import type { AlertsApi } from '../alerts/types.js';
import type { EventBus } from '../core/bus.js';
import type { DeviceState } from '../core/device-state.js';
import type { SettingsPatch } from '../modules/device-admin.js';
import type { HubMetrics } from '../prometheus.js';
import type { Quarantine } from '../quarantine.js';
import type { DeviceRegistry } from '../registry.js';
import type { InfluxHttp } from '../storage/influx-http.js';
import type { Sessions } from './login.js';
import type { Rollup } from './query.js';
import type { RateHistoryOptions } from './rates.js';
import type { StreamOptions } from './stream.js';

/** The fastify instance route modules see: `querystring`, `params` and `body` schemas are zod schemas. */
export type HttpApp = FastifyInstance<
  RawServerDefault,
  RawRequestDefaultExpression,
  RawReplyDefaultExpression,
  FastifyBaseLogger,
  ZodTypeProvider
>;

/** What the route modules may use; each takes only what it needs. */
export interface HttpDeps {
  log: Logger;
  bus: EventBus;
  registry: DeviceRegistry;
  quarantine: Quarantine;
  metrics: HubMetrics;
  influx: InfluxHttp;
  health(): Promise<{ ok: boolean; [k: string]: unknown }>;
  /** Removing and renaming devices (modules/device-admin.ts). */
  devices: {
    remove(id: string): Promise<{ removed: string; sensors: number }>;
    update(id: string, patch: SettingsPatch): Promise<DeviceState>;
  };
  /** Readings accepted and not yet confirmed by InfluxDB. */
  writeQueue?(): number;
  /** The message-rate history of /api/hub (tests sample faster). */
  rateHistory?: RateHistoryOptions;
  /** Rollups the history API may read from (see query.ts pickSource). */
  rollups?: readonly Rollup[];
  /** How far back raw readings are kept (Infinity when unknown). */
  rawKeepsMs?: number;
  /** Live-stream clients served at once (http.maxStreamClients). */
  maxStreamClients?: number;
  /** The live stream's buffer bound and stall time (tests shorten them). */
  stream?: Omit<StreamOptions, 'maxClients'>;
  /** Alerts, acknowledgements and silences (hub/modules/alerts.ts). */
  alerts?: AlertsApi;
  /** Dashboard sign-in sessions (made by the server when http.users are configured). */
  sessions?: Sessions;
  /** The session cookie is Secure: the server speaks HTTPS. */
  secureCookies?: boolean;
}

/**
 * One group of routes. A module registers its routes on `app` (with zod schemas for
 * what it reads from the request) and its own onClose hooks; errors are thrown as
 * HubError and answered by the server's one error handler. Adding a module is one
 * file and one line in ROUTE_MODULES (routes.ts).
 */
export type RouteModule = (app: HttpApp, deps: HttpDeps) => void | Promise<void>;
