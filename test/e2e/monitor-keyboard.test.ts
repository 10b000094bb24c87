import { createAdaptorServer } from '@hono/node-server';
import fs from 'node:fs';
import os from 'node:os';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { type Browser, type Page } from 'playwright-core';
import { launchChromium } from './browser.js';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.js';
import { testConfig } from '../../src/config.js';
import { openDatabase, type Db } from '../../src/db/connection.js';
import { migrateToLatest } from '../../src/db/migrate.js';
import { systemClock } from '../../src/lib/clock.js';
import { PasswordHasher } from '../../src/lib/passwords.js';
import type { Actor } from '../../src/models/actor.js';
import { createClient } from '../../src/models/clients.js';
import { createLicense } from '../../src/models/licenses.js';
import { terminateSession } from '../../src/models/session-actions.js';
import { createUser } from '../../src/models/users.js';

const PASSWORD = 'correct horse battery';
const setup: Actor = { type: 'token', id: 0, name: 'e2e setup', role: 'admin', clientId: null, ip: null };

let db: Db;
let server: Server;
let base: string;
let browser: Browser;
let licenseKey: string;
let n = 0;

/** A simulated agent: opens a session over the real API and heartbeats on demand. */
async function openAgent(user: string, extra: Record<string, unknown> = {}) {
  const i = ++n;
  const res = await fetch(`${base}/api/v1/sessions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      licenseKey,
      clientSessionId: `e2e-${i}-${Date.now()}`,
      fingerprint: { cpu: 'BFEBFBFF000906EA', board: 'E2E-BOARD' },
      machine: { hostname: 'ACC-SRV-01', os: 'Windows Server 2022', ip: '10.0.0.5' },
      client: { ip: `10.0.1.${i}`, hostname: `BUH-PC-${i}` },
      user,
      roles: ['viewer'],
      infobase: { id: 'ib-acc', name: 'Accounting' },
      app: { name: 'Payroll', version: '3.2.1' },
      ...extra,
    }),
  });
  if (res.status !== 201) throw new Error(`capture failed: ${res.status} ${await res.text()}`);
  const body = (await res.json()) as { sessionId: string; token: string };
  return {
    id: body.sessionId,
    heartbeat: (payload: Record<string, unknown> = {}) =>
      fetch(`${base}/api/v1/sessions/${body.sessionId}/heartbeat`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${body.token}` },
        body: JSON.stringify(payload),
      }),
  };
}

async function signedInPage(role: 'admin' | 'support' = 'admin'): Promise<Page> {
  const email = `${role}-${++n}@e2e.example`;
  await createUser(db, { email, passwordHash: await hasher.hash(PASSWORD), role }, Date.now());
  const page = await browser.newPage({ viewport: { width: 1500, height: 900 } });
  await page.goto(`${base}/login`);
  await page.fill('input[name=email]', email);
  await page.fill('input[name=password]', PASSWORD);
  await Promise.all([page.waitForURL(/\/monitor/), page.click('main button.primary')]);
  return page;
}

const hasher = new PasswordHasher(2);
const row = (page: Page, id: string) => page.locator(`#monitor-sessions tr[data-session-id="${id}"]:not([data-package-id])`);

beforeAll(async () => {
  ({ db } = openDatabase(':memory:'));
  await migrateToLatest(db);
  const { app } = createApp({ db, config: testConfig(), clock: systemClock, hasher });
  server = createAdaptorServer({ fetch: app.fetch }) as Server;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const client = await createClient(db, setup, { name: 'Acme Accounting' }, Date.now());
  licenseKey = (await createLicense(db, setup, { clientId: client.id, product: 'Payroll', maxHosts: 5, features: ['reports', 'export'] }, Date.now())).key;
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  server?.close();
  await db?.destroy();
});

const stops = (page: Page) => page.evaluate(() => Array.from(document.querySelectorAll('#monitor-sessions > tbody > tr[tabindex="0"]')).map((tr) => tr.getAttribute('data-session-id')!));
const focusedRow = (page: Page) => page.evaluate(() => (document.activeElement as HTMLElement | null)?.closest('tr')?.getAttribute('data-session-id') ?? null);
/** Presses Tab until a sessions row has the focus; returns how many presses it took (or -1). */
async function tabToRow(page: Page, max = 60) {
  for (let i = 1; i <= max; i++) {
    await page.keyboard.press('Tab');
    if (await page.evaluate(() => document.activeElement?.matches('#monitor-sessions > tbody > tr'))) return i;
  }
  return -1;
}

/** Waits for the next swap into the live part (a refresh's answer landed). */
const nextSwap = (page: Page) => page.evaluate(() => new Promise<void>((r) => document.addEventListener('htmx:after:swap', () => r(), { once: true })));
const activeIn = (page: Page, selector: string) => page.evaluate((sel) => !!document.activeElement?.closest(sel), selector);
const order = (page: Page) => page.evaluate(() => Array.from(document.querySelectorAll('#monitor-sessions > tbody > tr[data-session-id]')).map((tr) => tr.getAttribute('data-session-id')!));

describe('the monitor with the keyboard alone', () => {
  let page: Page;
  beforeEach(async () => {
    page = await signedInPage();
  });
  afterEach(async () => {
    await page.close();
  });

  it('a row is one Tab stop (the selected one, else the first), arrows move the selection, and a refresh keeps both', async () => {
    const agents = [await openAgent('Abramov'), await openAgent('Belov'), await openAgent('Vasin')];
    await page.goto(`${base}/monitor`);
    await expect.poll(() => page.locator('#monitor-sessions tbody tr[data-session-id]').count()).toBe(3);
    const order = await page.evaluate(() => Array.from(document.querySelectorAll('#monitor-sessions > tbody > tr[data-session-id]')).map((tr) => tr.getAttribute('data-session-id')!));
    expect(await stops(page)).toEqual([order[0]]);
    // Only the Tab-stop row's own buttons are Tab stops: the table is not 2 stops per row.
    expect(await page.locator('#monitor-sessions tbody button:not([tabindex="-1"])').count()).toBe(1);

    await page.focus('#monitor-q');
    expect(await tabToRow(page)).toBeGreaterThan(0);
    expect(await focusedRow(page)).toBe(order[0]);
    await page.keyboard.press('Space');
    expect(await row(page, order[0]).getAttribute('aria-selected')).toBe('true');
    await page.keyboard.press('ArrowDown');
    expect(await focusedRow(page)).toBe(order[1]);
    expect(await row(page, order[1]).getAttribute('aria-selected')).toBe('true');
    expect(await stops(page)).toEqual([order[1]]);
    await page.keyboard.press('End');
    expect(await focusedRow(page)).toBe(order[2]);
    await page.keyboard.press('ArrowUp');
    expect(await focusedRow(page)).toBe(order[1]);
    expect(await page.isEnabled('#monitor-actions [data-act=close]')).toBe(true);

    // A refresh that changes the rows (settled cells kept) and one that does not: the Tab stop and the focus stay.
    const moved = agents.find((a) => a.id === order[1])!;
    expect((await moved.heartbeat({ metrics: { cpuMs: { current: 10, total: 4_321_000 } } })).status).toBe(200);
    const swapped = page.evaluate(() => new Promise<void>((r) => document.addEventListener('htmx:after:swap', () => r(), { once: true })));
    await page.keyboard.press('Alt+F5');
    await swapped;
    await expect.poll(() => page.locator('#monitor-sessions').innerText()).toContain('4321');
    expect(await stops(page)).toEqual([order[1]]);
    expect(await focusedRow(page)).toBe(order[1]);
    expect(await page.locator('#monitor-sessions tbody button:not([tabindex="-1"])').count()).toBeLessThanOrEqual(2);

    // Tab leaves the table (past the row's own buttons), Shift+Tab comes back to the selected row.
    await page.keyboard.press('Tab');
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => !!document.activeElement?.closest('#monitor-sessions tbody'))).toBe(false);
    await page.keyboard.press('Shift+Tab');
    await page.keyboard.press('Shift+Tab');
    expect(await focusedRow(page)).toBe(order[1]);

    // Delete asks to close the selected session; once closed, the focus is on the table again, not lost.
    await page.keyboard.press('Delete');
    const dialog = page.locator('#monitor-dialog');
    await dialog.waitFor({ state: 'visible' });
    await page.keyboard.type('Bye');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Enter');
    await dialog.waitFor({ state: 'hidden' });
    await expect.poll(() => row(page, order[1]).count()).toBe(0);
    await expect.poll(() => page.evaluate(() => !!document.activeElement?.matches('#monitor-sessions > tbody > tr[tabindex="0"]'))).toBe(true);
  });

  it('the done notice of an action is said in a status region that was there before', async () => {
    const agent = await openAgent('Grigoriev');
    await page.goto(`${base}/monitor`);
    await expect.poll(() => row(page, agent.id).count()).toBe(1);
    expect(await page.locator('#monitor-said[role=status]').textContent()).toBe('');
    await row(page, agent.id).locator('td').nth(1).click();
    await page.keyboard.press('Delete');
    const dialog = page.locator('#monitor-dialog');
    await dialog.waitFor({ state: 'visible' });
    await dialog.locator('button.danger').click();
    await dialog.waitFor({ state: 'hidden' });
    const shown = page.locator('#monitor-live p.msg.ok');
    await shown.waitFor();
    const text = (await shown.textContent())!.trim();
    expect(text).not.toBe('');
    await expect.poll(() => page.locator('#monitor-said').textContent()).toBe(text);
    // Said once: the copy swapped in is no longer a status region of its own.
    expect(await shown.getAttribute('role')).toBe(null);
  });

  it('asking for the confirm step on a slow link shows it is on its way, and asks once', async () => {
    const agent = await openAgent('Denisov');
    await page.goto(`${base}/monitor`);
    await expect.poll(() => row(page, agent.id).count()).toBe(1);
    let asked = 0;
    await page.route('**/monitor/confirm?*', async (route) => {
      asked++;
      await new Promise((r) => setTimeout(r, 600));
      await route.continue();
    });
    await row(page, agent.id).locator('td').nth(1).click();
    await page.keyboard.press('Delete');
    await expect.poll(() => page.getAttribute('#monitor', 'aria-busy')).toBe('true');
    expect(await page.evaluate(() => getComputedStyle(document.querySelector('#monitor-sessions td')!).cursor)).toBe('progress');
    await page.keyboard.press('Delete');
    const dialog = page.locator('#monitor-dialog');
    await dialog.waitFor({ state: 'visible' });
    expect(await page.getAttribute('#monitor', 'aria-busy')).toBe(null);
    expect(asked).toBe(1);
  });

  it('an action on a session closed meanwhile says so in the dialog, with a Close that works; the table drops the row', async () => {
    const agents = [await openAgent('Gone-A'), await openAgent('Gone-B'), await openAgent('Gone-C')];
    await page.goto(`${base}/monitor?q=Gone-`);
    await expect.poll(() => page.locator('#monitor-sessions tbody tr[data-session-id]').count()).toBe(3);
    const ids = await order(page);
    expect(new Set(ids)).toEqual(new Set(agents.map((a) => a.id)));
    // Paused: only the answer to the action can refresh the table.
    await page.click('#monitor-actions [data-act=pause]');
    await row(page, ids[0]).locator('td').nth(1).click();
    await page.keyboard.press('Delete');
    const dialog = page.locator('#monitor-dialog');
    await dialog.waitFor({ state: 'visible' });
    await terminateSession(db, setup, ids[0], null, Date.now()); // closed in another tab
    await dialog.locator('button.danger').click();
    await expect.poll(() => dialog.textContent()).toContain('This session is no longer there');
    expect(await dialog.locator('h2').textContent()).toBe('No longer there');
    expect(await activeIn(page, '#monitor-dialog')).toBe(true);
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Close');
    await expect.poll(() => row(page, ids[0]).count(), { timeout: 3000 }).toBe(0);
    await page.keyboard.press('Enter');
    await dialog.waitFor({ state: 'hidden' });
    expect(await focusedRow(page)).toBe(ids[1]);
    expect(await row(page, ids[1]).getAttribute('aria-selected')).toBe('true');

    // The confirm step itself finds the row gone: the same words, and the table follows.
    await terminateSession(db, setup, ids[1], null, Date.now());
    await page.keyboard.press('Delete');
    await dialog.waitFor({ state: 'visible' });
    expect(await dialog.textContent()).toContain('This session is no longer there');
    expect(await activeIn(page, '#monitor-dialog')).toBe(true);
    await expect.poll(() => row(page, ids[1]).count(), { timeout: 3000 }).toBe(0);
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden' });
    expect(await focusedRow(page)).toBe(ids[2]);
  });

  it('closing the dialog or the row menu gives the focus back to the same row, also after a refresh replaced it', async () => {
    const agents = [await openAgent('Back-A'), await openAgent('Back-B')];
    await page.goto(`${base}/monitor?q=Back-`);
    await expect.poll(() => page.locator('#monitor-sessions tbody tr[data-session-id]').count()).toBe(2);
    const ids = await order(page);
    await row(page, ids[1]).locator('td').nth(1).click();
    await page.keyboard.press('Delete');
    const dialog = page.locator('#monitor-dialog');
    await dialog.waitFor({ state: 'visible' });
    const before = await row(page, ids[1]).elementHandle();
    let swapped = nextSwap(page);
    expect((await agents.find((a) => a.id === ids[1])!.heartbeat({ metrics: { cpuMs: { current: 5, total: 1_234_000 } } })).status).toBe(200);
    await page.keyboard.press('Alt+F5');
    await swapped;
    expect(await before!.evaluate((el) => el.isConnected)).toBe(false); // the row was replaced
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden' });
    expect(await focusedRow(page)).toBe(ids[1]);

    // The row menu: Escape closes it, back on the row, a refresh in between or not.
    const menu = page.locator('#monitor-menu');
    await row(page, ids[0]).locator('td').nth(1).click({ button: 'right' });
    await menu.waitFor({ state: 'visible' });
    expect(await activeIn(page, '#monitor-menu')).toBe(true);
    await page.keyboard.press('Escape');
    await menu.waitFor({ state: 'hidden' });
    expect(await focusedRow(page)).toBe(ids[0]);
    await row(page, ids[0]).locator('td').nth(1).click({ button: 'right' });
    await menu.waitFor({ state: 'visible' });
    swapped = nextSwap(page);
    expect((await agents.find((a) => a.id === ids[0])!.heartbeat({ metrics: { cpuMs: { current: 5, total: 2_345_000 } } })).status).toBe(200);
    await page.keyboard.press('Alt+F5');
    await swapped;
    await page.keyboard.press('Escape');
    await menu.waitFor({ state: 'hidden' });
    expect(await focusedRow(page)).toBe(ids[0]);
  });

  it('from the search box, ↓ goes to the first row of the results', async () => {
    await openAgent('Arrow-A');
    await openAgent('Arrow-B');
    await page.goto(`${base}/monitor`);
    await page.keyboard.press('Control+f');
    await page.keyboard.type('Arrow-');
    await expect.poll(() => page.locator('#monitor-sessions tbody tr[data-session-id]').count()).toBe(2);
    const ids = await order(page);
    await page.keyboard.press('ArrowDown');
    expect(await focusedRow(page)).toBe(ids[0]);
    // And on down the list, as the rows' own arrows do.
    await page.keyboard.press('ArrowDown');
    expect(await focusedRow(page)).toBe(ids[1]);
  });

  it('a dialog opened again after its textarea was resized breaks no rule of the CSP', async () => {
    await openAgent('Resize-A');
    await page.goto(`${base}/monitor?q=Resize-`);
    await expect.poll(() => page.locator('#monitor-sessions tbody tr[data-session-id]').count()).toBe(1);
    await page.evaluate(() => {
      (window as unknown as { violations: string[] }).violations = [];
      document.addEventListener('securitypolicyviolation', (e) => (window as unknown as { violations: string[] }).violations.push(e.violatedDirective));
    });
    const dialog = page.locator('#monitor-dialog');
    await page.locator('#monitor-sessions tbody tr[data-session-id] td').nth(1).click();
    await page.keyboard.press('Delete');
    await dialog.waitFor({ state: 'visible' });
    // What the textarea's drag grip does: an inline height on it (htmx used to copy it onto the next dialog's).
    await page.evaluate(() => (document.querySelector('#monitor-dialog textarea') as HTMLElement).style.setProperty('height', '120px'));
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden' });
    await page.keyboard.press('Delete');
    await dialog.waitFor({ state: 'visible' });
    await page.waitForTimeout(200);
    expect(await page.evaluate(() => (window as unknown as { violations: string[] }).violations)).toEqual([]);
    await page.keyboard.press('Escape');
  });

  it('sorting from the keyboard keeps the focus on the header link, so Enter again reverses the sort', async () => {
    await openAgent('Sort-A');
    await page.goto(`${base}/monitor`);
    const host = page.locator('#monitor-sessions thead th', { hasText: 'Host' });
    await host.locator('a[data-nav]').focus();
    let swapped = nextSwap(page);
    await page.keyboard.press('Enter');
    await swapped;
    await expect.poll(() => host.getAttribute('aria-sort')).toBe('ascending');
    const focused = () => page.evaluate(() => ({ th: document.activeElement?.closest('th')?.textContent ?? null, flt: !!document.activeElement?.matches('a.flt') }));
    expect(await focused()).toEqual({ th: expect.stringContaining('Host'), flt: false });
    swapped = nextSwap(page);
    await page.keyboard.press('Enter');
    await swapped;
    await expect.poll(() => host.getAttribute('aria-sort')).toBe('descending');
    expect(await page.locator('#monitor-filters').getAttribute('open')).toBeNull();
    expect(await focused()).toEqual({ th: expect.stringContaining('Host'), flt: false });
  });

  it('the focused row is the selection: Delete acts on it, and after it is gone its neighbour has focus and selection', async () => {
    const names = new Map<string, string>();
    for (const user of ['Focus-A', 'Focus-B', 'Focus-C']) names.set((await openAgent(user)).id, user);
    await page.goto(`${base}/monitor?q=Focus-`);
    await expect.poll(() => page.locator('#monitor-sessions tbody tr[data-session-id]').count()).toBe(3);
    const ids = await order(page);
    await page.focus('#monitor-q');
    expect(await tabToRow(page)).toBeGreaterThan(0);
    expect(await focusedRow(page)).toBe(ids[0]);
    await page.keyboard.press('Delete');
    const dialog = page.locator('#monitor-dialog');
    await dialog.waitFor({ state: 'visible' });
    expect(await dialog.textContent()).toContain(`(${names.get(ids[0])} `);
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden' });
    expect(await focusedRow(page)).toBe(ids[0]);

    // The middle row closed: the next one takes the focus and the selection, not the table's first.
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('Delete');
    await dialog.waitFor({ state: 'visible' });
    expect(await dialog.textContent()).toContain(`(${names.get(ids[1])} `);
    await dialog.locator('button.danger').click();
    await dialog.waitFor({ state: 'hidden' });
    await expect.poll(() => row(page, ids[1]).count()).toBe(0);
    await expect.poll(() => focusedRow(page)).toBe(ids[2]);
    expect(await row(page, ids[2]).getAttribute('aria-selected')).toBe('true');
    expect(await row(page, ids[0]).getAttribute('aria-selected')).toBeNull();
    expect(await page.isEnabled('#monitor-actions [data-act=close]')).toBe(true);
  });

  it('the row menu is a menu: arrows, Home and End move over its enabled items; Tab closes it, back on the row', async () => {
    await openAgent('Menu-A');
    await page.goto(`${base}/monitor?q=Menu-`);
    const [id] = await order(page);
    await page.focus('#monitor-q');
    expect(await tabToRow(page)).toBeGreaterThan(0);
    await page.keyboard.press('Shift+F10');
    const menu = page.locator('#monitor-menu');
    await menu.waitFor({ state: 'visible' });
    const item = () => page.evaluate(() => (document.activeElement as HTMLElement | null)?.dataset.act ?? null);
    expect(await item()).toBe('refresh');
    await page.keyboard.press('ArrowDown');
    expect(await item()).toBe('close'); // Stop is disabled: nothing runs there
    await page.keyboard.press('ArrowUp');
    expect(await item()).toBe('refresh');
    await page.keyboard.press('ArrowUp');
    expect(await item()).toBe('resolve');
    await page.keyboard.press('Home');
    expect(await item()).toBe('refresh');
    await page.keyboard.press('End');
    expect(await item()).toBe('resolve');
    await page.keyboard.press('Tab');
    await menu.waitFor({ state: 'hidden' });
    expect(await focusedRow(page)).toBe(id);
  });

  it('Escape closes the Column filters and Columns drop-downs and puts the focus on their summary', async () => {
    await page.goto(`${base}/monitor`);
    for (const id of ['monitor-filters', 'monitor-columns']) {
      const drop = page.locator(`#${id}`);
      await drop.locator('summary').click();
      expect(await drop.getAttribute('open')).not.toBeNull();
      await page.keyboard.press('Tab');
      expect(await activeIn(page, `#${id} > :not(summary)`)).toBe(true);
      await page.keyboard.press('Escape');
      expect(await drop.getAttribute('open')).toBeNull();
      expect(await page.evaluate((sel) => document.activeElement === document.querySelector(sel), `#${id} > summary`)).toBe(true);
    }
  });
});
