import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { HUB_ERRORS, QUARANTINE_REASONS } from '../../hub/core/errors.js';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
/** A README table row that starts with the code and says something about it. */
const documented = (code: string) => new RegExp(`^\\|\\s*\`${code}\`\\s*\\|\\s*\\S`, 'm').test(readme);

describe('error registry', () => {
  it('documents every error code in README', () => {
    const missing = Object.keys(HUB_ERRORS).filter((code) => !documented(code));
    expect(missing).toEqual([]);
  });

  it('documents every quarantine reason in README', () => {
    const missing = Object.keys(QUARANTINE_REASONS).filter((r) => !documented(r));
    expect(missing).toEqual([]);
  });
});
