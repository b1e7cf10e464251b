import { describe, expect, it } from 'vitest';
import { type FlowClock, FlowControl, type Pausable, SLICE_MS } from '../../hub/mqtt/flow-control.js';

/** A connection that records what flow control did to it. */
class FakeClient implements Pausable {
  closed = false;
  paused = false;
  pauses = 0;
  /** Runs when the client is resumed, as a read of its backlog would. */
  onResume: (() => void) | undefined;
  constructor(
    readonly name: string,
    private readonly log: string[],
  ) {}
  pause(): void {
    this.paused = true;
    this.pauses++;
  }
  resume(): void {
    this.paused = false;
    this.log.push(this.name);
    this.onResume?.();
  }
}

/** A clock that moves only when told, and a queue of "soon" callbacks run by hand. */
class FakeClock implements FlowClock {
  t = 1000;
  readonly queue: Array<() => void> = [];
  now(): number {
    return this.t;
  }
  soon(fn: () => void): void {
    this.queue.push(fn);
  }
  /** One turn of the event loop: what was queued before it. */
  turn(): void {
    const fns = this.queue.splice(0);
    for (const fn of fns) fn();
  }
}

function setup(names: string[] = ['a', 'b', 'c']) {
  const resumed: string[] = [];
  const clock = new FakeClock();
  const clients = names.map((n) => new FakeClient(n, resumed));
  const flow = new FlowControl<FakeClient>(() => clients, clock);
  return { flow, clock, clients, resumed };
}

/** Uses up a slice: the first call starts it, the next one, later than SLICE_MS, is over it. */
function burst(flow: FlowControl<FakeClient>, clock: FakeClock): boolean {
  flow.overSlice();
  clock.t += SLICE_MS + 1;
  return flow.overSlice();
}

const settled = () => new Promise((r) => setImmediate(r));

describe('FlowControl: holding a client', () => {
  it('pauses a held client once and resumes it when the promise resolves', async () => {
    const { flow, clients, resumed } = setup();
    const [a] = clients;
    let release!: () => void;
    const until = new Promise<void>((r) => {
      release = r;
    });
    flow.hold(a!, until);
    flow.hold(a!, until);
    expect(a!.paused).toBe(true);
    expect(a!.pauses).toBe(1);
    await settled();
    expect(resumed).toEqual([]);
    release();
    await settled();
    expect(resumed).toEqual(['a']);
    expect(a!.paused).toBe(false);
  });

  it('resumes a held client when the promise rejects, too', async () => {
    const { flow, clients, resumed } = setup();
    flow.hold(clients[0]!, Promise.reject(new Error('spool full')));
    await settled();
    expect(resumed).toEqual(['a']);
  });

  it('does not resume a client that closed while held', async () => {
    const { flow, clients, resumed } = setup();
    let release!: () => void;
    flow.hold(
      clients[0]!,
      new Promise<void>((r) => {
        release = r;
      }),
    );
    clients[0]!.closed = true;
    release();
    await settled();
    expect(resumed).toEqual([]);
  });

  it('a held client waiting for its turn is resumed by its turn, not by the promise', async () => {
    const { flow, clock, clients, resumed } = setup(['a']);
    let release!: () => void;
    flow.hold(
      clients[0]!,
      new Promise<void>((r) => {
        release = r;
      }),
    );
    expect(burst(flow, clock)).toBe(true);
    flow.yieldAll();
    release();
    await settled();
    expect(resumed).toEqual([]);
    clock.turn();
    expect(resumed).toEqual(['a']);
  });
});

describe('FlowControl: fairness slices', () => {
  it('is over the slice only after SLICE_MS of ingest, and a new slice starts on the next turn', () => {
    const { flow, clock } = setup();
    expect(flow.overSlice()).toBe(false);
    clock.t += SLICE_MS;
    expect(flow.overSlice()).toBe(false);
    clock.t += 1;
    expect(flow.overSlice()).toBe(true);
    clock.turn();
    expect(flow.overSlice()).toBe(false);
  });

  it('pauses everyone, then resumes them one by one in order on a later turn', () => {
    const { flow, clock, clients, resumed } = setup();
    expect(burst(flow, clock)).toBe(true);
    flow.yieldAll();
    flow.yieldAll();
    expect(clients.every((c) => c.paused)).toBe(true);
    expect(clients.map((c) => c.pauses)).toEqual([1, 1, 1]);
    expect(resumed).toEqual([]);
    expect(flow.waiting).toBe(3);
    clock.turn();
    expect(resumed).toEqual(['a', 'b', 'c']);
    expect(clients.some((c) => c.paused)).toBe(false);
    expect(flow.waiting).toBe(0);
  });

  it('the client that used up the new slice goes last; the others keep their places', () => {
    const { flow, clock, clients, resumed } = setup();
    const [a] = clients;
    burst(flow, clock);
    flow.yieldAll();
    // a's backlog, read when it is resumed, uses up the next slice.
    a!.onResume = () => {
      a!.onResume = undefined;
      if (burst(flow, clock)) flow.yieldAll();
    };
    clock.turn();
    expect(resumed).toEqual(['a']);
    expect(clients.every((c) => c.paused)).toBe(true);
    clock.turn();
    expect(resumed).toEqual(['a', 'b', 'c', 'a']);
  });

  it('does not resume a client that closed or left while waiting', () => {
    const { flow, clock, clients, resumed } = setup();
    burst(flow, clock);
    flow.yieldAll();
    clients[1]!.closed = true;
    flow.forget(clients[2]!);
    clock.turn();
    expect(resumed).toEqual(['a']);
  });
});
