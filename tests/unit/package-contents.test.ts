import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { pack, ROOT } from '../support/pack.js';

const pkg = JSON.parse(readFileSync(`${ROOT}/package.json`, 'utf8')) as {
  exports: Record<string, string | { types: string; default: string }>;
  bin: Record<string, string>;
  dependencies: Record<string, string>;
  peerDependencies: Record<string, string>;
  peerDependenciesMeta: Record<string, { optional?: boolean }>;
};

describe('the published package', () => {
  const { files } = pack({ dryRun: true });
  const paths = new Set(files.map((f) => f.path));

  it('holds every entry point with its types, and the CLI', () => {
    expect(Object.keys(pkg.exports).sort()).toEqual(['.', './package.json', './simulators', './testing']);
    for (const [name, target] of Object.entries(pkg.exports)) {
      if (typeof target === 'string') continue;
      expect(paths, `${name} code`).toContain(target.default.replace(/^\.\//, ''));
      expect(paths, `${name} types`).toContain(target.types.replace(/^\.\//, ''));
    }
    for (const bin of Object.values(pkg.bin)) expect(paths).toContain(bin);
    expect(paths).toContain('dist/dashboard/index.html');
  });

  it('holds no sources, tests, source maps or stray files', () => {
    const stray = [...paths].filter(
      (p) =>
        !(
          p === 'package.json' ||
          p === 'README.md' ||
          p === 'scripts/setup-system.mjs' ||
          /^docs\/[\w-]+\.md$/.test(p) ||
          p.startsWith('dist/')
        ) ||
        p.endsWith('.map') ||
        (p.endsWith('.ts') && !p.endsWith('.d.ts')) ||
        /(^|\/)(tests?|__tests__|examples)\//.test(p) ||
        /\.(test|spec)\.[jt]s$/.test(p),
    );
    expect(stray).toEqual([]);
  });

  it('needs no native build for a hub without boards: the board libraries are optional peers', () => {
    for (const name of ['johnny-five', 'firmata-io', 'serialport']) {
      expect(pkg.dependencies).not.toHaveProperty(name);
      expect(pkg.peerDependenciesMeta[name]?.optional).toBe(true);
    }
  });
});
