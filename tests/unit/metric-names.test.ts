import { pino } from 'pino';
import { expect, it } from 'vitest';
import { EventBus } from '../../hub/core/bus.js';
import { createMetrics } from '../../hub/prometheus.js';
import { DeviceRegistry } from '../../hub/registry.js';

it('names process metrics once: hub_process_cpu_seconds_total, hub_nodejs_*, no stutter', async () => {
  const text = await createMetrics().registry.metrics();
  expect(text).toMatch(/^hub_process_cpu_seconds_total \d/m);
  expect(text).toMatch(/^hub_nodejs_heap_size_used_bytes \d/m);
  expect(text).not.toMatch(/hub_process_process_|hub_process_nodejs_/);
  // Every metric of the hub's registry carries the one prefix.
  const names = [...text.matchAll(/^# TYPE (\S+)/gm)].map((m) => m[1]!);
  expect(names.filter((n) => !n.startsWith('hub_'))).toEqual([]);
});

it('counts a declared device without a reading yet as "waiting", the word the dashboard shows', () => {
  const reg = new DeviceRegistry(new EventBus(pino({ level: 'silent' })), [{ id: 'greenhouse', tags: {} }], {
    checkEveryMs: 0,
  });
  expect(reg.get('greenhouse')!.state).toBe('waiting');
  expect(reg.countByState()).toEqual({ online: 0, stale: 0, offline: 0, waiting: 1 });
});
