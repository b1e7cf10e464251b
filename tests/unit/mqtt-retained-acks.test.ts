import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { CommitAcks } from '../../hub/mqtt/commit-acks.js';
import { RetainedCap } from '../../hub/mqtt/retained-cap.js';

const silent = pino({ level: 'silent' });
const one = Buffer.from('1');

describe('RetainedCap', () => {
  it('retains up to its cap of topics; an empty publish frees one; refusals are counted', () => {
    let refused = 0;
    const cap = new RetainedCap(silent, 2, () => refused++);
    expect(cap.admit('d', 'a', one)).toBe(true);
    expect(cap.admit('d', 'b', one)).toBe(true);
    expect(cap.admit('d', 'a', one)).toBe(true);
    expect(cap.admit('d', 'c', one)).toBe(false);
    expect(refused).toBe(1);
    expect(cap.admit('d', 'a', Buffer.alloc(0))).toBe(true);
    expect(cap.admit('d', 'c', one)).toBe(true);
    expect(cap.admit('d', 'x', one)).toBe(false);
    expect(refused).toBe(2);
  });
});

describe('CommitAcks', () => {
  it('calls every waiting done once its commit settles, with its error if it failed', async () => {
    const acks = new CommitAcks(silent);
    const seen: Array<string | null> = [];
    let ok!: () => void;
    let fail!: (e: Error) => void;
    const good = new Promise<void>((r) => {
      ok = r;
    });
    const bad = new Promise<void>((_, r) => {
      fail = r;
    });
    acks.after(good, (e) => seen.push(e ? e.message : null));
    acks.after(good, (e) => seen.push(e ? e.message : null));
    acks.after(bad, (e) => seen.push(e ? e.message : null));
    expect(acks.pending).toBe(2);
    await new Promise((r) => setImmediate(r));
    expect(seen).toEqual([]);
    ok();
    fail(new Error('disk full'));
    await new Promise((r) => setImmediate(r));
    expect(seen).toEqual([null, null, 'disk full']);
    expect(acks.pending).toBe(0);
  });
});
