import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// The README links into docs/ and the docs link into each other and back; a section renamed or
// moved breaks a link silently on GitHub and in the npm package. This walks every relative link
// and anchor in README.md and docs/*.md.

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** Lines outside fenced code blocks, with inline code spans blanked (links in code are not links). */
function proseLines(markdown: string): string[] {
  const out: string[] = [];
  let fence: string | null = null;
  for (const line of markdown.split('\n')) {
    const marker = /^\s*(```+|~~~+)/.exec(line)?.[1];
    if (marker) {
      if (fence === null) fence = marker[0]!;
      else if (marker[0] === fence) fence = null;
      out.push('');
      continue;
    }
    out.push(fence === null ? line.replace(/`+[^`]*`+/g, (m) => ' '.repeat(m.length)) : '');
  }
  return out;
}

/** GitHub's anchor for a heading text: lower case, punctuation dropped, spaces as hyphens. */
function slug(heading: string): string {
  return heading
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
    .replace(/ /g, '-');
}

/** Every anchor a markdown file offers, with GitHub's -1, -2 suffixes for repeated headings. */
function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  let fence = false;
  for (const line of markdown.split('\n')) {
    if (/^\s*(```|~~~)/.test(line)) fence = !fence;
    const m = fence ? null : /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!m) continue;
    const base = slug(m[1]!);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

/** Problems of the relative links of one markdown file, as `file:line: target: why`. */
function brokenLinks(file: string, markdown: string, read: (path: string) => string | null) {
  const problems: string[] = [];
  const lines = proseLines(markdown);
  lines.forEach((line, i) => {
    for (const m of line.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) {
      const target = m[1]!;
      if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto:, ...
      const [path, anchor] = target.split('#', 2) as [string, string | undefined];
      const where = `${file}:${i + 1}: ${target}`;
      const targetFile = path === '' ? file : join(dirname(file), decodeURIComponent(path));
      const text = path === '' ? markdown : read(targetFile);
      if (text === null) {
        problems.push(`${where}: no such file`);
        continue;
      }
      if (anchor !== undefined && targetFile.endsWith('.md') && !anchors(text).has(anchor)) {
        problems.push(`${where}: no heading with this anchor in ${targetFile}`);
      }
    }
  });
  return problems;
}

/** Reads a path inside the repository: its text, '' for a directory, null when missing. */
const readRepo = (path: string): string | null => {
  const full = join(root, path);
  if (!full.startsWith(root) || !existsSync(full)) return null;
  return statSync(full).isDirectory() ? '' : readFileSync(full, 'utf8');
};

describe('documentation links', () => {
  const files = [
    'README.md',
    ...readdirSync(join(root, 'docs'))
      .filter((f) => f.endsWith('.md'))
      .map((f) => `docs/${f}`),
  ];

  it('finds the README and the docs', () => {
    expect(files).toContain('docs/configuration.md');
    expect(files.length).toBeGreaterThan(5);
  });

  it('has no broken relative link or anchor in README.md and docs/*.md', () => {
    const problems = files.flatMap((f) => brokenLinks(f, readRepo(f)!, readRepo));
    expect(problems).toEqual([]);
  });

  it('links the README to every docs file', () => {
    const readme = readRepo('README.md')!;
    const unlinked = files.filter((f) => f !== 'README.md' && !readme.includes(`](${f}`));
    expect(unlinked).toEqual([]);
  });

  describe('the checker', () => {
    const docs: Record<string, string> = {
      'docs/a.md':
        '# A\n\n## Durability: spool and retention\n\n## Ingest (`npm run bench`)\n\n## Twice\n\n## Twice\n',
    };
    const read = (p: string) => docs[relative('.', p)] ?? null;

    it('reports a missing file and a missing anchor, with file and line', () => {
      const md = 'x\nsee [a](docs/b.md) and [c](docs/a.md#no-such)\n';
      expect(brokenLinks('README.md', md, read)).toEqual([
        'README.md:2: docs/b.md: no such file',
        'README.md:2: docs/a.md#no-such: no heading with this anchor in docs/a.md',
      ]);
    });

    it('accepts existing anchors in GitHub spelling, repeated headings included', () => {
      const md =
        '[d](docs/a.md#durability-spool-and-retention) [i](docs/a.md#ingest-npm-run-bench) ' +
        '[t](docs/a.md#twice-1) [e](https://example.com/x.md#y)\n';
      expect(brokenLinks('README.md', md, read)).toEqual([]);
    });

    it('checks an anchor in the same file, and links relative to the linking file', () => {
      expect(brokenLinks('docs/a.md', '## Here\n[h](#here) [x](#there)\n', read)).toEqual([
        'docs/a.md:2: #there: no heading with this anchor in docs/a.md',
      ]);
      expect(brokenLinks('docs/c.md', '[a](a.md#twice) [r](../README.md)\n', read)).toEqual([
        'docs/c.md:1: ../README.md: no such file',
      ]);
    });

    it('ignores links in code blocks and inline code', () => {
      const md = '```\n[a](missing.md)\n```\n`[b](missing.md)`\n';
      expect(brokenLinks('README.md', md, read)).toEqual([]);
    });
  });
});
