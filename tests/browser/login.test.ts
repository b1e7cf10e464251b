import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HubHandle } from '../../hub/hub.js';
import { passwd } from '../../hub/security/passwd-cli.js';
import { launchBrowser, type TestBrowser } from '../support/browser.js';
import { startTestHub } from '../support/hub.js';
import { startTestInfluxd, type TestInfluxd } from '../support/influxd.js';

const TOKEN = 'a-script-token-of-some-length';

describe('dashboard sign-in in Chromium', () => {
  let influx: TestInfluxd;
  let hub: HubHandle;
  let tb: TestBrowser;
  let page: Page;

  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hub-login-'));
    const file = join(dir, 'passwd');
    await passwd({ file, user: 'ann', password: 'ann-password-1', batch: true, create: true });
    [influx, tb] = await Promise.all([startTestInfluxd(), launchBrowser()]);
    hub = await startTestHub(influx.url, {
      dataDir: dir,
      mqtt: { passwordFile: file },
      http: { token: TOKEN, users: [{ username: 'ann', role: 'viewer' }] },
    });
    hub.ingest({
      topic: 'sensors/porch/temperature',
      payload: Buffer.from('18'),
      receivedAt: Date.now(),
      source: 'mqtt',
    });
    page = await tb.newPage();
  });

  afterAll(async () => {
    await tb?.close();
    await hub?.stop();
    await influx?.stop();
  });

  it('says "sign in" instead of "reconnecting…" and shows the form', async () => {
    await page.goto(`${hub.httpUrl}/`);
    await page.locator('form.login').waitFor({ timeout: 5000 });
    expect(await page.locator('#conn').textContent()).toBe('sign in');
  });

  it('refuses a wrong password and stays on the form', async () => {
    await page.fill('input[name="username"]', 'ann');
    await page.fill('input[name="password"]', 'not-her-password');
    await page.click('button[type="submit"]');
    await expect
      .poll(() => page.locator('.login-error').textContent())
      .toMatch(/wrong user name or password/i);
    expect(await page.locator('input[name="password"]').inputValue()).toBe('');
  });

  it('signs in, shows devices live, and sets an httpOnly SameSite=Strict cookie', async () => {
    await page.fill('input[name="username"]', 'ann');
    await page.fill('input[name="password"]', 'ann-password-1');
    await page.click('button[type="submit"]');
    await page.locator('tr[data-device="porch"]').waitFor({ timeout: 10_000 });
    await expect.poll(() => page.locator('#conn').textContent(), { timeout: 5000 }).toBe('live');
    const cookies = await page.context().cookies();
    const session = cookies.find((c) => c.name === 'hub_session');
    expect(session).toMatchObject({ httpOnly: true, sameSite: 'Strict', secure: false });
    // The cookie is not readable from the page.
    expect(await page.evaluate(() => document.cookie)).not.toContain('hub_session');
  });

  it('keeps admin-only routes and changes from a viewer, and bearer tokens working for scripts', async () => {
    const status = await page.evaluate(async () => (await fetch('/api/quarantine')).status);
    expect(status).toBe(403);
    // A viewer reads; removing (or renaming) a device is an admin's.
    const removal = await page.evaluate(async () => {
      const res = await fetch('/api/devices/porch', { method: 'DELETE' });
      return { status: res.status, body: await res.json() };
    });
    expect(removal).toEqual({
      status: 403,
      body: { error: 'HUB_FORBIDDEN', message: 'this route needs the admin role' },
    });
    expect(await page.evaluate(async () => (await fetch('/api/devices/porch')).status)).toBe(200);
    const devices = await fetch(`${hub.httpUrl}/api/devices`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(devices.status).toBe(200);
    expect((await fetch(`${hub.httpUrl}/api/devices`)).status).toBe(401);
  });

  it('signs out: the session ends and the form comes back', async () => {
    const cookie = (await page.context().cookies()).find((c) => c.name === 'hub_session')!.value;
    await page.click('#sign-out');
    await page.locator('form.login').waitFor({ timeout: 5000 });
    expect(await page.locator('#conn').textContent()).toBe('sign in');
    // The old cookie is worth nothing now, even sent by hand.
    const res = await fetch(`${hub.httpUrl}/api/devices`, { headers: { cookie: `hub_session=${cookie}` } });
    expect(res.status).toBe(401);
  });
});
