/**
 * The published shape, proven: examples/testing installs the packed tarball as a user
 * would (install scripts on) and runs its own suite with sensor-hub/testing and
 * sensor-hub/simulators, under vitest and node:test.
 */
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, expect, it } from 'vitest';
import { pack, ROOT } from '../support/pack.js';

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'hub-example-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Folders a node-gyp build leaves (build/Release, build/config.gypi) anywhere under node_modules. */
function nativeBuilds(root: string): string[] {
  const found: string[] = [];
  const walk = (d: string, depth: number) => {
    if (depth > 6) return;
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (!statSync(p).isDirectory()) continue;
      if (name === 'build' && readdirSync(p).some((f) => f === 'Release' || f === 'config.gypi'))
        found.push(p);
      else walk(p, depth + 1);
    }
  };
  walk(root, 0);
  return found;
}

it('the example project installs the packed tarball without a native build and its suite passes', async () => {
  const project = join(dir, 'testing');
  cpSync(join(ROOT, 'examples/testing'), project, {
    recursive: true,
    filter: (src) => !src.includes('node_modules') && !src.endsWith('.tgz'),
  });
  const { filename } = pack({ destination: dir });
  cpSync(join(dir, filename), join(project, 'sensor-hub.tgz'));

  const install = await run(
    'npm',
    ['install', '--prefer-offline', '--no-audit', '--no-fund', '--foreground-scripts', '--loglevel', 'info'],
    { cwd: project, maxBuffer: 64 * 1024 * 1024, env: { ...process.env, NODE_OPTIONS: '' } },
  );
  const log = install.stdout + install.stderr;
  expect(log).not.toMatch(/gyp info (spawn|build)|gyp ERR|node-gyp rebuild/);
  expect(nativeBuilds(join(project, 'node_modules'))).toEqual([]);

  const test = await run('npm', ['test'], {
    cwd: project,
    maxBuffer: 64 * 1024 * 1024,
    env: { ...process.env, NODE_OPTIONS: '', VITEST: undefined, VITEST_WORKER_ID: undefined },
  }).catch((err: { stdout: string; stderr: string }) => err);
  const out = test.stdout + test.stderr;
  expect(out, out).toMatch(/Tests\s+.*2 passed/);
  expect(out, out).toMatch(/# pass 1\n# fail 0/);
}, 300_000);
