/** A matcher for a glob over ids and tag values: `*` any run of characters, `?` one. */
export type Matcher = (s: string) => boolean;

const ANY: Matcher = () => true;

export function globMatcher(glob: string | undefined): Matcher {
  if (glob === undefined || glob === '*') return ANY;
  if (!/[*?]/.test(glob)) return (s) => s === glob;
  const source = glob.replace(/[.*+?^${}()|[\]\\/-]/g, (c) =>
    c === '*' ? '.*' : c === '?' ? '.' : `\\${c}`,
  );
  const re = new RegExp(`^${source}$`, 's');
  return (s) => re.test(s);
}

/** Whether a glob is a plain name (no wildcards): such rules are indexed by that name. */
export const isLiteral = (glob: string | undefined): glob is string =>
  glob !== undefined && !/[*?]/.test(glob);
