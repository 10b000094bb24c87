import { createAdaptorServer } from '@hono/node-server';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Browser } from 'playwright-core';
import { launchChromium } from './browser.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.js';
import { testConfig } from '../../src/config.js';
import { openDatabase, type Db } from '../../src/db/connection.js';
import { migrateToLatest } from '../../src/db/migrate.js';
import { systemClock } from '../../src/lib/clock.js';
import { PasswordHasher } from '../../src/lib/passwords.js';
import type { Actor } from '../../src/models/actor.js';
import { createClient } from '../../src/models/clients.js';
import { createLicense } from '../../src/models/licenses.js';
import { createUser } from '../../src/models/users.js';

const PASSWORD = 'correct horse battery';
const setup: Actor = { type: 'token', id: 0, name: 'e2e setup', role: 'admin', clientId: null, ip: null };
const hasher = new PasswordHasher(2);

let db: Db;
let server: Server;
let base: string;
let browser: Browser;

beforeAll(async () => {
  ({ db } = openDatabase(':memory:'));
  await migrateToLatest(db);
  const { app } = createApp({ db, config: testConfig(), clock: systemClock, hasher });
  server = createAdaptorServer({ fetch: app.fetch }) as Server;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  server?.close();
  await db?.destroy();
});

/** Opens a session over the real agent API from a machine with its own fingerprint. */
async function capture(key: string, machine: string, user: string) {
  const res = await fetch(`${base}/api/v1/sessions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ licenseKey: key, fingerprint: { cpu: `CPU-${machine}`, board: 'B-1' }, machine: { hostname: machine, ip: '10.0.0.5' }, user }),
  });
  expect(res.status).toBe(201);
  const body = (await res.json()) as { sessionId: string; token: string; hostId: number };
  const heartbeat = () =>
    fetch(`${base}/api/v1/sessions/${body.sessionId}/heartbeat`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${body.token}` }, body: '{}' });
  return { ...body, heartbeat };
}

describe('client cabinet in a browser', () => {
  it('a client user resets a binding with a reason, sees the quota go down and the session disappear', async () => {
    const client = await createClient(db, setup, { name: 'Romashka LLC' }, Date.now());
    const lic = await createLicense(db, setup, { clientId: client.id, product: 'Payroll', maxHosts: 2, selfResetQuota: 2 }, Date.now());
    await createUser(db, { email: 'buh@romashka.example', passwordHash: await hasher.hash(PASSWORD), role: 'client', clientId: client.id }, Date.now());
    const old = await capture(lic.key, 'OLD-SRV', 'Ivanov');
    const kept = await capture(lic.key, 'NEW-SRV', 'Petrov');

    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    const dialogs: string[] = [];
    page.on('dialog', (d) => {
      dialogs.push(d.message());
      void d.accept();
    });
    await page.goto(`${base}/login`);
    await page.fill('input[name=email]', 'buh@romashka.example');
    await page.fill('input[name=password]', PASSWORD);
    await Promise.all([page.waitForURL(/\/cabinet$/), page.click('main button.primary')]);
    expect(await page.locator('table.licenses').textContent()).toContain('2 of 2');

    await Promise.all([page.waitForURL(/\/cabinet\/licenses\/\d+$/), page.click(`a:text("${lic.key}")`)]);
    expect(await page.locator('.quota-note').textContent()).toContain('You can reset 2 more bindings yourself');
    expect(await page.locator(`tr[data-session-id="${old.sessionId}"]`).count()).toBe(1);
    const oldRow = page.locator(`tr[data-host-id="${old.hostId}"]`);
    expect(await oldRow.textContent()).toContain('OLD-SRV');
    // The fingerprint's components stay hidden from clients: a short hash only.
    expect(await page.content()).not.toContain('CPU-OLD-SRV');

    // Without a reason the browser does not even send the form.
    await oldRow.locator('button').click();
    expect(dialogs).toHaveLength(0);
    expect(page.url()).toMatch(/\/cabinet\/licenses\/\d+$/);

    await oldRow.locator('input[name=reason]').fill('Moved to the new server');
    const resetButton = oldRow.locator('button');
    const ask = page.locator('#confirm-dialog');
    // The question comes in the page's own dialog, its confirm button the form's ("Reset"); Escape sends nothing.
    await resetButton.click();
    await ask.waitFor({ state: 'visible' });
    expect(await page.locator('#confirm-dialog-text').textContent()).toBe('Reset the binding of OLD-SRV? This closes 1 open session on it.');
    expect((await ask.locator('[data-confirm-ok]').textContent())?.trim()).toBe((await resetButton.textContent())?.trim());
    expect(await page.evaluate(() => document.activeElement?.hasAttribute('data-confirm-ok'))).toBe(true);
    await page.keyboard.press('Escape');
    await ask.waitFor({ state: 'hidden' });
    expect(await page.evaluate(() => document.activeElement?.closest('tr')?.getAttribute('data-host-id'))).toBe(String(old.hostId));
    expect(await page.locator(`tr[data-session-id="${old.sessionId}"]`).count()).toBe(1);
    expect(page.url()).toMatch(/\/cabinet\/licenses\/\d+$/);
    // Asked by Enter in the reason field, Escape puts the focus back in that field.
    await oldRow.locator('input[name=reason]').press('Enter');
    await ask.waitFor({ state: 'visible' });
    await page.keyboard.press('Escape');
    await ask.waitFor({ state: 'hidden' });
    expect(await page.evaluate(() => (document.activeElement as HTMLInputElement | null)?.name)).toBe('reason');
    // Cancel does the same; the confirm button sends the form with its reason.
    await resetButton.click();
    await ask.locator('[data-confirm-cancel]').click();
    await ask.waitFor({ state: 'hidden' });
    expect(await page.locator(`tr[data-session-id="${old.sessionId}"]`).count()).toBe(1);
    await resetButton.click();
    await Promise.all([page.waitForURL(/done=reset/), ask.locator('[data-confirm-ok]').click()]);
    // Never the browser's own confirm.
    expect(dialogs).toEqual([]);
    expect(await page.locator('.msg.ok').textContent()).toContain('The binding was reset; 1 session was closed.');
    expect(await page.locator('.quota-note').textContent()).toContain('You can reset 1 more binding yourself in the rolling 30 days (1 of 2 used).');
    expect(await page.locator(`tr[data-host-id="${old.hostId}"]`).count()).toBe(0);
    expect(await page.locator(`tr[data-session-id="${old.sessionId}"]`).count()).toBe(0);
    expect(await page.locator(`tr[data-session-id="${kept.sessionId}"]`).count()).toBe(1);

    // Gone from their monitor too, and the agent is told why.
    await page.goto(`${base}/monitor?license=${lic.id}`);
    await page.waitForSelector(`tr[data-session-id="${kept.sessionId}"]`);
    expect(await page.locator(`tr[data-session-id="${old.sessionId}"]`).count()).toBe(0);
    const hb = await old.heartbeat();
    expect(hb.status).toBe(410);
    expect(((await hb.json()) as { error: { details: { reason: string } } }).error.details.reason).toBe('binding_reset');
    expect((await kept.heartbeat()).status).toBe(200);
    await page.close();
  });

  it('a confirm still sends its form when a refresh replaced the form while the dialog was open', async () => {
    const client = await createClient(db, setup, { name: 'Vector LLC' }, Date.now());
    const lic = await createLicense(db, setup, { clientId: client.id, product: 'Payroll', maxHosts: 2 }, Date.now());
    await createUser(db, { email: 'it@vector.example', passwordHash: await hasher.hash(PASSWORD), role: 'client', clientId: client.id }, Date.now());
    const s = await capture(lic.key, 'VEC-SRV', 'Sidorov');
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    await page.goto(`${base}/login`);
    await page.fill('input[name=email]', 'it@vector.example');
    await page.fill('input[name=password]', PASSWORD);
    await Promise.all([page.waitForURL(/\/cabinet$/), page.click('main button.primary')]);
    const row = page.locator(`tr[data-session-id="${s.sessionId}"]`);
    await row.locator('button').click();
    const ask = page.locator('#confirm-dialog');
    await ask.waitFor({ state: 'visible' });
    // What the pages' periodic refresh does: the row, its form and button, replaced by a fresh copy.
    await page.evaluate((id) => {
      const tr = document.querySelector(`tr[data-session-id="${id}"]`)!;
      tr.outerHTML = tr.outerHTML;
    }, s.sessionId);
    await Promise.all([page.waitForURL(/done=terminated/), ask.locator('[data-confirm-ok]').click()]);
    expect(await page.locator('.msg.ok').textContent()).toContain('The session was terminated.');
    expect((await s.heartbeat()).status).toBe(410);
    await page.close();
  });
});
