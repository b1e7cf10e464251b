/**
 * A URL's user name and password taken out of it: the URL alone is what may be logged,
 * shown in /healthz or printed; the credentials go only where they are used.
 */
export function splitCredentials(url: string): { url: string; username?: string; password?: string } {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return { url };
  }
  if (u.username === '' && u.password === '') return { url };
  const username = decodeURIComponent(u.username);
  const password = decodeURIComponent(u.password);
  u.username = '';
  u.password = '';
  return { url: u.toString().replace(/\/$/, url.endsWith('/') ? '/' : ''), username, password };
}

/** The URL without its credentials, for logs and answers. */
export const redactUrl = (url: string) => splitCredentials(url).url;
