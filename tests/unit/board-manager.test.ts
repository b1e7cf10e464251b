import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { BoardManager } from '../../hub/boards/manager.js';
import { parseConfig } from '../../hub/config/load.js';
import { openVirtualBoard } from '../../simulators/index.js';

const config = parseConfig(
  { boards: [{ id: 'bench', port: 'virtual', sensors: [{ id: 'pot', type: 'analog', pin: 'A0' }] }] },
  { env: {} },
);
const deps = {
  boards: config.boards,
  log: pino({ level: 'silent' }),
  ingestCandidates: () => ({
    handled: true,
    readings: [],
    rejected: 0,
    availability: [],
    suppressed: [],
    duplicates: 0,
  }),
  setState: () => {},
};

describe('virtual boards come from the caller', () => {
  it('refuses a port: virtual board at start when no opener was passed, naming the board and the option', () => {
    const manager = new BoardManager(deps);
    expect(() => manager.start()).toThrow(/board bench has port "virtual".*boards\.openVirtual/);
  });

  it("runs it with the simulators' opener", async () => {
    const states: string[] = [];
    const manager = new BoardManager({
      ...deps,
      openVirtual: openVirtualBoard,
      setState: (_d, s) => states.push(s),
    });
    manager.start();
    try {
      for (let i = 0; i < 200 && !states.includes('online'); i++) await new Promise((r) => setTimeout(r, 25));
      expect(states).toContain('online');
      expect(manager.status()[0]).toMatchObject({ id: 'bench', path: 'virtual', state: 'online' });
    } finally {
      await manager.stop();
    }
  });
});
