import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { EventBus } from '../../hub/core/bus.js';

describe('EventBus', () => {
  it('keeps delivering to other listeners when one throws, and logs it', () => {
    const logged: string[] = [];
    const log = pino({ level: 'error' }, { write: (s: string) => logged.push(s) });
    const bus = new EventBus(log);
    const got: number[] = [];
    bus.on({}, 'stored', () => {
      throw new Error('broken consumer');
    });
    bus.on({}, 'stored', (n) => got.push(n));
    bus.emit('stored', 3);
    expect(got).toEqual([3]);
    expect(logged.join('')).toContain('broken consumer');
  });

  it('removes exactly the listeners of one owner', () => {
    const bus = new EventBus(pino({ level: 'silent' }));
    const a = {};
    const b = {};
    const got: string[] = [];
    bus.on(a, 'stored', () => got.push('a'));
    bus.on(b, 'stored', () => got.push('b'));
    bus.removeAll(a);
    bus.emit('stored', 1);
    expect(got).toEqual(['b']);
    expect(bus.listenerCount('stored')).toBe(1);
  });
});
