import { HubRates } from './rates.js';
import type { RouteModule } from './route-module.js';

/**
 * GET /api/hub, which the health view polls: unlike /healthz it answers 200 while
 * InfluxDB is down. Besides the health body: `current` (readings, stored and
 * quarantined per second over the last 10 s), `rates` (readings per second of the last
 * 5 minutes, one sample every 5 s, oldest first), `writeQueue` (readings not yet
 * confirmed by InfluxDB) and `deviceStates` (devices by state, `waiting` included).
 */
export const hubStatusRoutes: RouteModule = (app, deps) => {
  const rates = new HubRates(deps.bus, deps.rateHistory);
  rates.start();
  app.addHook('onClose', async () => rates.stop());
  app.get('/api/hub', async () => ({
    ...(await deps.health()),
    current: rates.snapshot(),
    rates: rates.history(),
    writeQueue: { readings: deps.writeQueue?.() ?? 0 },
    deviceStates: deps.registry.countByState(),
    now: Date.now(),
  }));
};
