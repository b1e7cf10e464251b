/**
 * The managed influxd runs under a watchdog: a small Node process between the hub and
 * influxd that stops influxd when the hub goes away, however it goes (kill -9 too),
 * because the watchdog's stdin is a pipe from the hub and the OS closes it when the hub
 * dies. Cleanup on the next start (stopStale) cannot help a test runner that never starts
 * again; prctl's parent-death signal would, but Node has no way to set it.
 *
 * - it prints influxd's pid on fd 3, so the hub reports and signals influxd itself;
 * - SIGTERM from the hub is passed on (a normal stop);
 * - EOF on stdin (the hub is gone): SIGTERM to influxd, SIGKILL after 10 s, then the
 *   folder in SENSOR_HUB_REMOVE_ON_ORPHAN (a test hub's temporary folder) is removed;
 * - when influxd exits, the watchdog exits the same way (same code, same signal), so
 *   the hub sees influxd's own exit.
 */
export const WATCHDOG_SOURCE = String.raw`
const { spawn } = require('node:child_process');
const { rmSync, writeSync } = require('node:fs');
const [bin, ...args] = process.argv.slice(1);
const child = spawn(bin, args, { stdio: ['ignore', 'inherit', 'inherit'] });
let stopping = false;
let orphaned = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  child.kill('SIGTERM');
  setTimeout(() => child.kill('SIGKILL'), 10000).unref();
};
child.on('error', (e) => {
  process.stderr.write('cannot run ' + bin + ': ' + e.message + '\n');
  process.exit(127);
});
if (child.pid) writeSync(3, child.pid + '\n');
process.on('SIGTERM', stop);
// A Ctrl-C is the hub's to handle: it stops influxd after its final write.
process.on('SIGINT', () => {});
process.stdin.on('end', () => { orphaned = true; stop(); });
process.stdin.on('error', () => { orphaned = true; stop(); });
process.stdin.resume();
child.on('exit', (code, signal) => {
  const dir = process.env.SENSOR_HUB_REMOVE_ON_ORPHAN;
  if (orphaned && dir) {
    try { rmSync(dir, { recursive: true, force: true }); } catch {}
  }
  if (signal) {
    process.removeAllListeners(signal);
    process.kill(process.pid, signal);
  } else process.exit(code === null ? 1 : code);
});
`;
