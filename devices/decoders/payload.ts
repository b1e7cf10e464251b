import { RejectError } from '../../hub/core/errors.js';

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The payload as text; rejects bytes that are not UTF-8. */
export function payloadText(payload: Buffer): string {
  if (payload.length === 0) throw new RejectError('empty_payload', 'the payload is empty');
  try {
    return utf8.decode(payload);
  } catch {
    throw new RejectError('not_utf8', `the payload of ${payload.length} bytes is not UTF-8 text`);
  }
}

export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new RejectError('invalid_json', `invalid JSON: ${(err as Error).message}`);
  }
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
