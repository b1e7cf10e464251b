import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface FixtureExpect {
  device: string;
  sensor: string;
  metric: string;
  unit: string;
  value: number;
  /** ISO time of the point; absent: the hub's receive time. */
  time?: string;
}

export interface Fixture {
  format: string;
  file: string;
  source: string;
  config?: unknown;
  messages: Array<{ topic: string; payload: string | Record<string, unknown> }>;
  expect: FixtureExpect[];
  availability: Record<string, 'online' | 'offline'>;
}

const ROOT = join(import.meta.dirname, '..', 'fixtures');

/** Every fixture under tests/fixtures/<format>/*.json. */
export function loadFixtures(): Fixture[] {
  const out: Fixture[] = [];
  for (const format of readdirSync(ROOT).sort()) {
    for (const file of readdirSync(join(ROOT, format)).filter((f) => f.endsWith('.json'))) {
      const f = JSON.parse(readFileSync(join(ROOT, format, file), 'utf8')) as Omit<
        Fixture,
        'format' | 'file'
      >;
      out.push({ ...f, format, file });
    }
  }
  return out;
}

export const payloadOf = (p: string | Record<string, unknown>) =>
  typeof p === 'string' ? p : JSON.stringify(p);
