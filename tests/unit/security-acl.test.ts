import { describe, expect, it } from 'vitest';
import { buildDecoders } from '../../devices/decoders/index.js';
import { Acl, filterWithin, substitute } from '../../hub/security/acl.js';
import { GatedReader, ReconnectGuard } from '../../hub/security/flood.js';

const decoders = buildDecoders();
const topics = {
  deviceOf(topic: string) {
    const levels = topic.split('/');
    const d = decoders.find((x) => x.match(levels));
    return d ? (d.deviceOf(levels) ?? null) : undefined;
  },
};
const who = (user: string | undefined, clientId = 'c1') => ({ user, clientId });

describe('ACL', () => {
  it('allows everything when it has no rules', () => {
    const acl = new Acl([], topics);
    expect(acl.publish(who(undefined), 'sensors/x/t')).toBeUndefined();
    expect(acl.subscribe(who(undefined), '#')).toBeUndefined();
  });

  it("lets a device user publish its own device's readings in every format, and no other's", () => {
    const acl = new Acl([{ user: 'admin', publish: ['#'] }], topics);
    const own = [
      'sensors/kitchen/t',
      'sensors/kitchen',
      'tele/kitchen/SENSOR',
      'tele/kitchen/LWT',
      'kitchen/sensor/t/state',
      'homie/kitchen/env/t',
      'zigbee2mqtt/kitchen',
      'kitchen/status/temperature:0',
      'kitchen/online',
    ];
    for (const t of own) expect(acl.publish(who('kitchen'), t), t).toBeUndefined();
    for (const t of own.map((x) => x.replace('kitchen', 'cellar')))
      expect(acl.publish(who('kitchen'), t), t).toBe('not_own_device');
    // Topics that speak for many devices, and topics no format reads.
    expect(acl.publish(who('kitchen'), 'zigbee2mqtt/bridge/state')).toBe('not_own_device');
    expect(acl.publish(who('kitchen'), 'homeassistant/sensor/kitchen/t/config')).toBe('not_own_device');
    expect(acl.publish(who('kitchen'), 'cmnd/kitchen/POWER')).toBe('publish_not_allowed');
    expect(acl.publish(who('admin'), 'sensors/cellar/t')).toBeUndefined();
    // Anonymous clients have no device.
    expect(acl.publish(who(undefined), 'sensors/kitchen/t')).toBe('not_own_device');
  });

  it('takes devices globs with %u and %c, and rules by client id', () => {
    const acl = new Acl(
      [
        { user: 'gw-*', devices: ['%u-*', 'shared'] },
        { clientId: 'plug-%c', devices: ['%c'] },
        { clientId: 'tasmota-*', publish: ['cmnd/%c/#'] },
      ],
      topics,
    );
    expect(acl.publish(who('gw-1'), 'sensors/gw-1-a/t')).toBeUndefined();
    expect(acl.publish(who('gw-1'), 'sensors/shared/t')).toBeUndefined();
    expect(acl.publish(who('gw-1'), 'sensors/gw-2-a/t')).toBe('not_own_device');
    expect(acl.publish(who('x', 'tasmota-1'), 'cmnd/tasmota-1/POWER')).toBeUndefined();
    expect(acl.publish(who('x', 'tasmota-1'), 'cmnd/tasmota-2/POWER')).toBe('publish_not_allowed');
  });

  it('does not let a client id or user name with topic levels or wildcards widen a pattern', () => {
    expect(substitute('sensors/%c/#', who('u', 'a/#'))).toBeUndefined();
    expect(substitute('sensors/%u/#', who('+'))).toBeUndefined();
    expect(substitute('sensors/%u/#', who(undefined))).toBeUndefined();
    const acl = new Acl([{ publish: ['in/%c'], subscribe: ['out/%c/#'] }], topics);
    expect(acl.publish(who('u', '+'), 'in/+')).toBe('publish_not_allowed');
    expect(acl.subscribe(who('u', '#'), 'out/#')).toBe('subscribe_not_allowed');
    expect(acl.subscribe(who('u', 'c9'), 'out/c9/x')).toBeUndefined();
  });

  it('grants a subscription only inside an allowed filter', () => {
    expect(filterWithin('#', 'sensors/#')).toBe(false);
    expect(filterWithin('sensors/+/t', 'sensors/#')).toBe(true);
    expect(filterWithin('sensors', 'sensors/#')).toBe(true);
    expect(filterWithin('sensors/a', 'sensors/+')).toBe(true);
    expect(filterWithin('sensors/+', 'sensors/a')).toBe(false);
    expect(filterWithin('sensors/a/b', 'sensors/+')).toBe(false);
    expect(filterWithin('hub/readings/kitchen/#', 'hub/readings/%u/#'.replace('%u', 'kitchen'))).toBe(true);
    expect(filterWithin('__proto__/#', '#')).toBe(true);
  });
});

describe('flood protection', () => {
  it('bans a client id that reconnects too often, for a while', () => {
    let now = 0;
    const g = new ReconnectGuard({ maxReconnects: 3, reconnectWindow: 1000, banFor: 5000 }, () => now);
    expect([1, 2, 3].map(() => g.connect('a'))).toEqual([true, true, true]);
    expect(g.connect('a')).toBe(false);
    expect(g.connect('b')).toBe(true);
    now = 4000;
    expect(g.connect('a')).toBe(false);
    now = 5001;
    expect(g.connect('a')).toBe(true);
  });

  it('reads a client only when neither flow control nor the rate limit holds it', () => {
    const calls: string[] = [];
    const inner = { closed: false, pause: () => calls.push('pause'), resume: () => calls.push('resume') };
    const r = new GatedReader(inner);
    r.limit();
    r.resume(); // flow control's resume does not undo the limit
    r.pause();
    r.lift(); // the limit's lift does not undo flow control's pause
    r.resume();
    expect(calls).toEqual(['pause', 'pause', 'resume']);
  });
});
