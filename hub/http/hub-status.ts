import { HubRates } from './rates.js';
import type { RouteModule } from './route-module.js';

/** GET /api/hub, which the health view polls: unlike /healthz it answers 200 while InfluxDB is down. */
export const hubStatusRoutes: RouteModule = (app, deps) => {
  const rates = new HubRates(deps.bus);
  rates.start();
  app.addHook('onClose', async () => rates.stop());
  app.get('/api/hub', async () => ({ ...(await deps.health()), rates: rates.snapshot(), now: Date.now() }));
};
