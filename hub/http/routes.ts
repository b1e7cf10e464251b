import { alertsRoutes } from './alerts.js';
import { devicesRoutes } from './devices.js';
import { healthRoutes } from './health.js';
import { historyRoutes } from './history.js';
import { hubStatusRoutes } from './hub-status.js';
import { loginRoutes } from './login.js';
import { metricsRoutes } from './metrics.js';
import { quarantineRoutes } from './quarantine.js';
import type { RouteModule } from './route-module.js';
import { streamRoutes } from './stream.js';

/** Every route module of the API; a new group of routes is one file and one line here. */
export const ROUTE_MODULES: readonly RouteModule[] = [
  healthRoutes,
  loginRoutes,
  metricsRoutes,
  devicesRoutes,
  historyRoutes,
  hubStatusRoutes,
  quarantineRoutes,
  streamRoutes,
  alertsRoutes,
];
