import { describe, expect, it } from 'vitest';
import { SubscriptionIndex } from '../../hub/mqtt/subscriptions.js';

describe('SubscriptionIndex: filters per client', () => {
  it('adds, removes and clears the filters of each client', () => {
    const s = new SubscriptionIndex();
    s.add('a', ['x/#', 'y/+']);
    s.add('a', ['x/#']);
    s.add('b', ['z']);
    expect(s.filtersOf('a')).toEqual(['x/#', 'y/+']);
    s.remove('a', ['y/+', 'never']);
    expect(s.filtersOf('a')).toEqual(['x/#']);
    s.remove('a');
    expect(s.filtersOf('a')).toEqual([]);
    expect(s.filtersOf('b')).toEqual(['z']);
  });

  it('a connecting client gets its session filters; a clean one leaving loses them, a persistent one keeps them', () => {
    const s = new SubscriptionIndex();
    s.add('dev', ['old/#']);
    s.connected('dev', []);
    expect(s.filtersOf('dev')).toEqual([]);
    s.connected('dev', ['restored/#']);
    expect(s.filtersOf('dev')).toEqual(['restored/#']);
    s.disconnected('dev', false);
    expect(s.mustRoute('restored/t', false)).toBe(true);
    s.disconnected('dev', true);
    expect(s.mustRoute('restored/t', false)).toBe(false);
  });
});

describe('SubscriptionIndex: hasListeners', () => {
  it('counts filters that can match under a prefix, with + and #', () => {
    const s = new SubscriptionIndex();
    expect(s.hasListeners('hub/readings')).toBe(false);
    s.add('a', ['hub/state/#', 'hub']);
    expect(s.hasListeners('hub/readings')).toBe(false);
    s.add('b', ['+/readings/kitchen']);
    expect(s.hasListeners('hub/readings')).toBe(true);
    s.remove('b');
    expect(s.hasListeners('hub/readings')).toBe(false);
    s.add('c', ['#']);
    expect(s.hasListeners('hub/readings')).toBe(true);
    expect(s.hasListeners('other')).toBe(true);
    s.disconnected('c', true);
    expect(s.hasListeners('hub/readings')).toBe(false);
    s.add('d', ['hub/+']);
    expect(s.hasListeners('hub/readings')).toBe(true);
    s.remove('d', ['hub/+']);
    expect(s.hasListeners('hub/readings')).toBe(false);
  });

  it('counts a filter once per client, and each client separately', () => {
    const s = new SubscriptionIndex();
    expect(s.hasListeners('hub/readings')).toBe(false);
    s.add('a', ['hub/#']);
    s.add('a', ['hub/#']);
    s.add('b', ['hub/#']);
    s.remove('a');
    expect(s.hasListeners('hub/readings')).toBe(true);
    s.remove('b');
    expect(s.hasListeners('hub/readings')).toBe(false);
  });
});

describe('SubscriptionIndex: mustRoute', () => {
  it('routes retained publishes always, others only when a filter matches', () => {
    const s = new SubscriptionIndex();
    expect(s.mustRoute('sensors/a/t', true)).toBe(true);
    expect(s.mustRoute('sensors/a/t', false)).toBe(false);
    s.add('a', ['sensors/b/#']);
    expect(s.mustRoute('sensors/a/t', false)).toBe(false);
    expect(s.mustRoute('sensors/b/t', false)).toBe(true);
  });

  it('routes a topic starting with $ once anyone subscribes to anything', () => {
    const s = new SubscriptionIndex();
    expect(s.mustRoute('$SYS/x', false)).toBe(false);
    s.add('a', ['unrelated']);
    expect(s.mustRoute('$SYS/x', false)).toBe(true);
  });

  it('forgets what it remembered when subscriptions change', () => {
    const s = new SubscriptionIndex();
    s.add('a', ['other/#']);
    expect(s.mustRoute('sensors/a/t', false)).toBe(false);
    s.add('b', ['sensors/+/t']);
    expect(s.mustRoute('sensors/a/t', false)).toBe(true);
    s.remove('b', ['sensors/+/t']);
    expect(s.mustRoute('sensors/a/t', false)).toBe(false);
    s.add('b', ['sensors/#']);
    expect(s.mustRoute('sensors/a/t', false)).toBe(true);
    s.disconnected('b', true);
    expect(s.mustRoute('sensors/a/t', false)).toBe(false);
  });

  it('remembers at most its bound of topics', () => {
    const s = new SubscriptionIndex(3);
    s.add('a', ['x/#']);
    for (const t of ['t/1', 't/2', 't/3']) s.mustRoute(t, false);
    expect(s.cachedTopics).toBe(3);
    s.mustRoute('t/1', false);
    expect(s.cachedTopics).toBe(3);
    s.mustRoute('t/4', false);
    expect(s.cachedTopics).toBe(1);
    expect(s.mustRoute('x/1', false)).toBe(true);
  });
});
