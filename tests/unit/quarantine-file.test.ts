import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { describe, expect, it, vi } from 'vitest';
import { EventBus } from '../../hub/core/bus.js';
import type { RawMessage } from '../../hub/core/raw-message.js';
import { Quarantine } from '../../hub/quarantine.js';

const log = pino({ level: 'silent' });
const msg = (i: number): RawMessage => ({
  topic: `sensors/d${i}/t`,
  payload: Buffer.alloc(1000, 0x61),
  receivedAt: 1_790_000_000_000 + i,
  source: 'mqtt',
});

function make(file: string, extra: Partial<ConstructorParameters<typeof Quarantine>[2]> = {}) {
  const counted = { bytes: 0, dropped: 0 };
  const q = new Quarantine(new EventBus(log), log, {
    file,
    counted: { fileBytes: (n) => (counted.bytes += n), fileDropped: (n) => (counted.dropped += n) },
    ...extra,
  });
  q.start();
  return { q, counted };
}

/** Waits for the file to reach a state, however slow the disk or the machine is. */
const fileIs = (q: Quarantine, state: Quarantine['fileState']) =>
  vi.waitFor(() => expect(q.fileState).toBe(state), { timeout: 10_000, interval: 20 });

describe('quarantine file', () => {
  it('stops writing while the stream is behind, counts what it drops, resumes on drain, counts bytes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hub-q-'));
    const file = join(dir, 'q.jsonl');
    const { q, counted } = make(file);
    // One synchronous burst: far more than the stream buffers (16 KiB) before the disk catches up.
    for (let i = 0; i < 500; i++) q.add(msg(i), `d${i}`, 'not_a_number', 'x');
    expect(q.fileDropped).toBeGreaterThan(0);
    expect(q.fileDropped).toBeLessThan(500);
    const droppedInBurst = q.fileDropped;
    expect(q.fileState).toBe('behind');
    await fileIs(q, 'writing');
    q.add(msg(999), 'd999', 'not_a_number', 'after drain');
    await q.stop();
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    expect(lines.length).toBe(500 - droppedInBurst + 1);
    expect(JSON.parse(lines.at(-1)!).detail).toBe('after drain');
    expect(q.fileDropped).toBe(droppedInBurst);
    expect(counted.dropped).toBe(droppedInBurst);
    expect(q.fileBytesWritten).toBe(statSync(file).size);
    expect(counted.bytes).toBe(statSync(file).size);
    // Every entry is still counted and kept in memory, whatever the file took.
    expect(q.total()).toBe(501);
    rmSync(dir, { recursive: true, force: true });
  });

  it('survives a file that cannot be written (opened, or rotated into a folder that is gone)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hub-q-'));
    // The path is a folder: opening it fails.
    const asDir = join(dir, 'is-a-dir');
    mkdirSync(asDir);
    const a = make(asDir, { reopenAfterMs: 60_000 });
    await fileIs(a.q, 'failed');
    a.q.add(msg(1), 'd1', 'not_a_number', 'x');
    expect(a.q.fileDropped).toBe(1);
    expect(a.counted.dropped).toBe(1);
    await a.q.stop();

    // Rotation opens a new file: its folder was removed meanwhile.
    const sub = join(dir, 'sub');
    mkdirSync(sub);
    const b = make(join(sub, 'q.jsonl'), { maxFileBytes: 3000, reopenAfterMs: 60_000 });
    b.q.add(msg(1), 'd1', 'not_a_number', 'x');
    await fileIs(b.q, 'writing');
    rmSync(sub, { recursive: true, force: true });
    for (let i = 0; i < 5; i++) b.q.add(msg(i), `d${i}`, 'not_a_number', 'x');
    await fileIs(b.q, 'failed');
    b.q.add(msg(9), 'd9', 'not_a_number', 'x');
    expect(b.q.fileDropped).toBeGreaterThan(0);
    expect(b.q.total()).toBe(7);
    await b.q.stop();
    rmSync(dir, { recursive: true, force: true });
  });
});
