/**
 * CSV as RFC 4180 writes it (comma separated, CRLF line ends, a field quoted when it
 * holds a quote, comma, CR or LF, a quote inside doubled), with one addition for files
 * opened in a spreadsheet: a text cell that starts with = + - @ tab or CR would be run
 * as a formula, so it gets a leading apostrophe (OWASP "CSV injection"). Numbers are
 * written as numbers: -3.5 is a value, not a formula.
 */
export type CsvValue = string | number | null | undefined;

const FORMULA_START = /^[=+\-@\t\r]/;
const NEEDS_QUOTES = /[",\r\n]/;

export function csvCell(v: CsvValue): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : '';
  const text = FORMULA_START.test(v) ? `'${v}` : v;
  return NEEDS_QUOTES.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function csvRow(cells: readonly CsvValue[]): string {
  return `${cells.map(csvCell).join(',')}\r\n`;
}

/** A header row, then one row per record. */
export function toCsv(header: readonly string[], rows: Iterable<readonly CsvValue[]>): string {
  let out = csvRow(header);
  for (const r of rows) out += csvRow(r);
  return out;
}
