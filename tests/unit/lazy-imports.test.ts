import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

it("loads Johnny-Five (and with it Node's domain module, which slows every emit) only with a board", () => {
  const hub = fileURLToPath(new URL('../../hub/index.ts', import.meta.url));
  const out = execFileSync(
    process.execPath,
    [
      '--import',
      'tsx',
      '-e',
      `await import(${JSON.stringify(hub)}); console.log(JSON.stringify(process.moduleLoadList.filter((m) => /domain|repl$/.test(m))))`,
    ],
    { encoding: 'utf8' },
  );
  expect(JSON.parse(out)).toEqual([]);
});
