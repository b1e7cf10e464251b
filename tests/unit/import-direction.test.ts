/**
 * The project's imports point one way: the kernel (hub/core) knows nothing of the rest,
 * device support and the simulators build only on the kernel, and the service reaches
 * the simulators only through the entry points that offer simulated devices. Every
 * import of every .ts file is read with the TypeScript parser (static, type-only,
 * re-exports, dynamic import() and import types), so a new edge against the rules
 * fails here with its file and line.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const FOLDERS = ['hub', 'devices', 'simulators', 'dashboards', 'tests', 'scripts'];

/**
 * The service files allowed to import simulators/: the CLI (`demo`, `simulate`, and
 * `start` for `port: virtual` boards), the library entry point (its simulateFleet
 * lets users and tests drive a hub with simulated devices) and the testing entry point
 * (virtual boards a test drives).
 */
const SIMULATOR_ENTRY_POINTS: readonly string[] = ['hub/cli.ts', 'hub/index.ts', 'hub/testing/index.ts'];

interface Edge {
  from: string;
  /** The imported project file (root-relative, without extension), or the package name. */
  to: string;
  line: number;
}

/** The module specifiers a source imports, with their lines. */
function importsOf(file: string, text: string): Array<{ spec: string; line: number }> {
  const src = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const out: Array<{ spec: string; line: number }> = [];
  const add = (node: ts.Node | undefined) => {
    if (node && ts.isStringLiteralLike(node))
      out.push({ spec: node.text, line: src.getLineAndCharacterOfPosition(node.getStart()).line + 1 });
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) add(node.moduleSpecifier);
    else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference))
      add(node.moduleReference.expression);
    else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword)
      add(node.arguments[0]);
    else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) add(node.argument.literal);
    ts.forEachChild(node, visit);
  };
  visit(src);
  return out;
}

/** Resolves a specifier of `from` to a root-relative path without extension; a package stays as written. */
function target(from: string, spec: string): string {
  if (!spec.startsWith('.')) return spec;
  const abs = resolve(ROOT, dirname(from), spec);
  return relative(ROOT, abs)
    .split(sep)
    .join('/')
    .replace(/\.(js|ts|mjs|mts)$/, '');
}

const inside = (path: string, folder: string) => path.startsWith(`${folder}/`);
const isProjectPath = (to: string) => FOLDERS.some((f) => inside(to, f)) || to === 'package.json';

/** Why an import breaks the direction, or undefined when it is allowed. */
function violation(from: string, to: string): string | undefined {
  if (!isProjectPath(to)) return undefined; // node: builtins and npm packages
  if (inside(from, 'hub/core')) return inside(to, 'hub/core') ? undefined : 'hub/core imports only hub/core';
  if (inside(from, 'devices'))
    return inside(to, 'hub/core') || inside(to, 'devices')
      ? undefined
      : 'devices/ imports only hub/core and devices/';
  if (inside(from, 'simulators'))
    return inside(to, 'hub/core') || inside(to, 'devices') || inside(to, 'simulators')
      ? undefined
      : 'simulators/ imports only hub/core, devices/ and simulators/';
  if (inside(from, 'hub') && inside(to, 'simulators') && !SIMULATOR_ENTRY_POINTS.includes(from))
    return `the service reaches simulators/ only through ${SIMULATOR_ENTRY_POINTS.join(', ')}`;
  if (inside(from, 'dashboards/web'))
    return inside(to, 'dashboards/web') || inside(to, 'hub/core')
      ? undefined
      : 'the web dashboard imports only itself and hub/core (its types and unit tables)';
  return undefined;
}

function sources(): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(join(ROOT, dir), { withFileTypes: true })) {
      if (e.name === 'node_modules' || e.name === 'dist' || e.name === 'build' || e.name.startsWith('.'))
        continue;
      const path = `${dir}/${e.name}`;
      if (e.isDirectory()) walk(path);
      else if (/\.(ts|mts)$/.test(e.name) && !e.name.endsWith('.d.ts')) out.push(path);
    }
  };
  for (const f of FOLDERS) walk(f);
  return out;
}

function edges(): Edge[] {
  return sources().flatMap((from) =>
    importsOf(from, readFileSync(join(ROOT, from), 'utf8')).map(({ spec, line }) => ({
      from,
      to: target(from, spec),
      line,
    })),
  );
}

describe('import direction', () => {
  const all = edges();

  it('reads the imports of every part of the project', () => {
    const from = new Set(all.map((e) => e.from.split('/')[0]));
    expect([...from].sort()).toEqual(['dashboards', 'devices', 'hub', 'simulators', 'tests']);
    // Each kind of import is seen, so a parser change cannot silently skip one.
    expect(
      importsOf(
        'x.ts',
        [
          "import a from './a.js';",
          "import type { B } from './b.js';",
          "export { c } from './c.js';",
          "export * from './d.js';",
          "const e = await import('./e.js');",
          "type F = import('./f.js').F;",
          "import g = require('./g.js');",
          "import './h.js';",
        ].join('\n'),
      ).map((i) => i.spec),
    ).toEqual(['./a.js', './b.js', './c.js', './d.js', './e.js', './f.js', './g.js', './h.js']);
  });

  it('names each edge against the rules', () => {
    expect(violation('hub/core/time.ts', 'hub/errors')).toMatch(/hub\/core imports only/);
    expect(violation('hub/core/bus.ts', 'pino')).toBeUndefined();
    expect(violation('devices/decoder.ts', 'hub/registry')).toMatch(/devices/);
    expect(violation('devices/decoders/mapping.ts', 'hub/config/formats-schema')).toMatch(/devices/);
    expect(violation('devices/decoder.ts', 'simulators/fleet')).toMatch(/devices/);
    expect(violation('simulators/fleet.ts', 'hub/pipeline/pipeline')).toMatch(/simulators/);
    expect(violation('simulators/firmata/for-config.ts', 'devices/boards/kinds')).toBeUndefined();
    expect(violation('hub/boards/manager.ts', 'simulators/firmata/for-config')).toMatch(/service/);
    expect(violation('hub/config/simulate.ts', 'simulators/formats')).toMatch(/service/);
    expect(violation('hub/cli.ts', 'simulators/fleet')).toBeUndefined();
    expect(violation('dashboards/web/src/api.ts', 'hub/registry')).toMatch(/dashboard/);
    expect(violation('tests/unit/x.test.ts', 'simulators/fleet')).toBeUndefined();
  });

  it('has no import against the direction', () => {
    const bad = all.flatMap((e) => {
      const why = violation(e.from, e.to);
      return why ? [`${e.from}:${e.line} imports ${e.to}: ${why}`] : [];
    });
    expect(bad).toEqual([]);
  });

  it('lists only entry points that exist and do import simulators/', () => {
    for (const entry of SIMULATOR_ENTRY_POINTS)
      expect(all.some((e) => e.from === entry && inside(e.to, 'simulators'))).toBe(true);
  });
});
