import { describe, expect, it } from 'vitest';
import { fingerprint, RecentPublishes } from '../../hub/mqtt/resends.js';

describe('RecentPublishes', () => {
  const p = (s: string) => fingerprint('sensors/a/t', Buffer.from(s));

  it('knows a publish by client, packet id and content', () => {
    const r = new RecentPublishes();
    r.remember('dev', 3, p('21.5'));
    expect(r.has('dev', 3, p('21.5'))).toBe(true);
    expect(r.has('dev', 3, p('21.6'))).toBe(false);
    expect(r.has('dev', 4, p('21.5'))).toBe(false);
    expect(r.has('other', 3, p('21.5'))).toBe(false);
    expect(fingerprint('sensors/a/t', Buffer.from('1'))).not.toBe(
      fingerprint('sensors/b/t', Buffer.from('1')),
    );
  });

  it('keeps the last packet id of a reused one, and the last 32 ids per client', () => {
    const r = new RecentPublishes();
    r.remember('dev', 1, p('a'));
    r.remember('dev', 1, p('b'));
    expect(r.has('dev', 1, p('a'))).toBe(false);
    expect(r.has('dev', 1, p('b'))).toBe(true);
    for (let id = 2; id <= 33; id++) r.remember('dev', id, p(`${id}`));
    expect(r.has('dev', 1, p('b'))).toBe(false);
    expect(r.has('dev', 2, p('2'))).toBe(true);
    expect(r.has('dev', 33, p('33'))).toBe(true);
  });

  it('forgets after 10 minutes', () => {
    let now = 0;
    const r = new RecentPublishes(() => now);
    r.remember('dev', 1, p('a'));
    now = 9 * 60_000;
    expect(r.has('dev', 1, p('a'))).toBe(true);
    now = 11 * 60_000;
    expect(r.has('dev', 1, p('a'))).toBe(false);
  });

  it('remembers at most 10,000 client ids, dropping those that connected longest ago', () => {
    const r = new RecentPublishes();
    for (let i = 0; i < 10_000; i++) r.remember(`c${i}`, 1, p('a'));
    r.touch('c0');
    r.remember('new', 1, p('a'));
    expect(r.size).toBe(10_000);
    expect(r.has('c0', 1, p('a'))).toBe(true);
    expect(r.has('c1', 1, p('a'))).toBe(false);
    expect(r.has('new', 1, p('a'))).toBe(true);
  });
});
