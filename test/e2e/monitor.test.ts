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

describe('session monitor in a browser', () => {
  let page: Page;
  beforeEach(async () => {
    page = await signedInPage();
  });
  afterEach(async () => {
    await page.close();
  });

  it('shows a new session within one refresh, and an expanded row stays expanded across refreshes', async () => {
    const first = await openAgent('Ivanov', { features: ['reports'] });
    await page.goto(`${base}/monitor`);
    await expect.poll(() => row(page, first.id).count()).toBe(1);
    await row(page, first.id).locator('button.tg').click();
    await page.waitForSelector(`tr.ft[data-session-id="${first.id}"]`);
    expect(await row(page, first.id).locator('button.tg').getAttribute('aria-expanded')).toBe('true');
    const second = await openAgent('Petrov');
    // The poll runs every 5 s: the new session shows up without a reload.
    await page.waitForSelector(`tr[data-session-id="${second.id}"]`, { timeout: 8000 });
    expect(await page.locator(`tr.ft[data-session-id="${first.id}"]`).count()).toBe(1);
    expect(await row(page, first.id).locator('button.tg').getAttribute('aria-expanded')).toBe('true');
  });

  it('a changed refresh of the rows shown carries their live cells only; the rest stays, and so does the selection', async () => {
    const a = await openAgent('Kuznetsov');
    const b = await openAgent('Smirnova');
    const bodies: string[] = [];
    page.on('response', async (res) => {
      const req = res.request();
      if (req.headers()['hx-request'] && new URL(req.url()).pathname === '/monitor' && res.status() === 200) bodies.push(await res.text());
    });
    await page.goto(`${base}/monitor`);
    await expect.poll(() => row(page, b.id).count()).toBe(1);
    await row(page, a.id).click({ position: { x: 300, y: 5 } });
    expect(await row(page, a.id).getAttribute('aria-selected')).toBe('true');
    const before = await row(page, a.id).locator('td').allInnerTexts();
    expect((await a.heartbeat({ metrics: { cpuMs: { current: 10, total: 7_654_321 } } })).status).toBe(200);
    await page.keyboard.press('Alt+F5');
    await expect.poll(() => page.locator('#monitor-sessions').innerText()).toContain('7654');
    // The body is read after the response arrives, which may be after htmx has swapped it in.
    await expect.poll(() => bodies.length).toBeGreaterThan(0);
    expect(bodies.at(-1)).toContain('data-keep=""');
    expect(bodies.at(-1)).not.toContain(a.id);
    // The same rows, ids and settled cells (user, host, license…), the selection kept, the toggles working.
    const after = await row(page, a.id).locator('td').allInnerTexts();
    expect(after[0]).toBe(before[0]);
    expect(after.slice(3, 9)).toEqual(before.slice(3, 9));
    expect(await row(page, a.id).getAttribute('aria-selected')).toBe('true');
    expect(await row(page, b.id).count()).toBe(1);
    expect(await page.locator('#monitor-live[data-keep], #monitor-live tr[data-k], #monitor-live td[data-k]').count()).toBe(0);
    await row(page, b.id).locator('button.ib').click();
    await expect.poll(() => page.locator('#monitor-live .panel').count()).toBe(1);
  });

  it('a refresh leaves the page scrolled where it was, also with the focus in the table', async () => {
    const agents: Awaited<ReturnType<typeof openAgent>>[] = [];
    for (let i = 0; i < 12; i++) agents.push(await openAgent(`Scroller ${i}`));
    const pkgs = Array.from({ length: 8 }, (_, j) => ({ id: `p-${j}`, path: `/projects/report-${j}.lgp`, name: `Report ${j}` }));
    expect((await agents[0].heartbeat({ packages: pkgs })).status).toBe(200);
    await page.setViewportSize({ width: 1500, height: 500 });
    await page.goto(`${base}/monitor`);
    await expect.poll(() => row(page, agents[0].id).count()).toBe(1);
    await row(page, agents[0].id).locator('button.tg').click();
    await page.waitForSelector(`tr[data-session-id="${agents[0].id}"][data-package-id]`);
    await page.evaluate(() => window.scrollTo(0, 300));
    await expect.poll(() => page.evaluate(() => window.scrollY)).toBe(300);
    expect(await page.evaluate(() => document.activeElement?.classList.contains('tg'))).toBe(true);
    const swapped = page.evaluate(() => new Promise<void>((r) => document.addEventListener('htmx:after:swap', () => r(), { once: true })));
    expect((await agents[1].heartbeat({ metrics: { cpuMs: { current: 1, total: 4_321_000 } } })).status).toBe(200);
    await page.keyboard.press('Alt+F5');
    await swapped;
    expect(await page.evaluate(() => window.scrollY)).toBe(300);
    expect(await page.evaluate(() => document.activeElement?.classList.contains('tg'))).toBe(true);
  });

  it('an unchanged refresh is a 304 sent with the stored validator and marked as automatic', async () => {
    await openAgent('Sidorov');
    const polls: { status: number; inm: string | undefined; auto: string | undefined }[] = [];
    page.on('response', (res) => {
      const req = res.request();
      if (req.headers()['hx-request'] && new URL(req.url()).pathname === '/monitor') polls.push({ status: res.status(), inm: req.headers()['if-none-match'], auto: req.headers()['x-auto-refresh'] });
    });
    await page.goto(`${base}/monitor`);
    // The page hands its validator to the script: even the first poll can be answered "unchanged".
    await expect.poll(() => polls.length, { timeout: 8000 }).toBeGreaterThanOrEqual(1);
    expect(polls[0]).toMatchObject({ status: 304, auto: '1' });
    expect(polls[0].inm).toMatch(/^W\/"/);
    await page.keyboard.press('Alt+F5');
    await expect.poll(() => polls.length).toBe(2);
    expect(polls[1]).toMatchObject({ status: 304, auto: undefined });
  });

  it('cancelling the confirm keeps the session; accepting terminates it and the agent gets 410', async () => {
    const agent = await openAgent('Kuznetsov');
    await page.goto(`${base}/monitor`);
    await row(page, agent.id).locator('td').nth(1).click();
    await page.keyboard.press('Delete');
    const dialog = page.locator('#monitor-dialog');
    await dialog.waitFor({ state: 'visible' });
    expect(await dialog.textContent()).toContain('1 session (Kuznetsov');
    await dialog.locator('[data-close]').click();
    await dialog.waitFor({ state: 'hidden' });
    expect(await row(page, agent.id).count()).toBe(1);
    expect((await agent.heartbeat()).status).toBe(200);

    await row(page, agent.id).locator('td').nth(1).click();
    await page.keyboard.press('Delete');
    await dialog.waitFor({ state: 'visible' });
    await dialog.locator('textarea[name=message]').fill('Maintenance');
    await dialog.locator('button.danger').click();
    await dialog.waitFor({ state: 'hidden' });
    await expect.poll(() => row(page, agent.id).count()).toBe(0);
    const hb = await agent.heartbeat();
    expect(hb.status).toBe(410);
    expect(((await hb.json()) as { error: { details: { reason: string; message: string } } }).error.details).toMatchObject({ reason: 'terminated', message: 'Maintenance' });
  });

  it('a hidden column stays hidden after a reload', async () => {
    await openAgent('Smirnov');
    await page.goto(`${base}/monitor`);
    expect(await page.locator('#monitor-sessions thead').textContent()).toContain('License key');
    await page.click('#monitor-columns summary');
    await page.uncheck('#monitor-columns input[value=license]');
    await expect.poll(async () => page.locator('#monitor-sessions thead').textContent()).not.toContain('License key');
    await page.reload();
    expect(await page.locator('#monitor-sessions thead').textContent()).not.toContain('License key');
    expect(await page.isChecked('#monitor-columns input[value=license]')).toBe(false);
  });

  it('Ctrl+F focuses the search, typing filters as you type and the URL follows; a column filter narrows the rows', async () => {
    const a = await openAgent('Volkov');
    const b = await openAgent('Orlova', { infobase: { id: 'ib-hr', name: 'HR' } });
    await page.goto(`${base}/monitor`);
    await page.locator('body').click({ position: { x: 5, y: 300 } });
    await page.keyboard.press('Control+f');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('monitor-q');
    await page.keyboard.type('volk');
    await expect.poll(() => page.url()).toContain('q=volk');
    await expect.poll(() => row(page, b.id).count()).toBe(0);
    expect(await row(page, a.id).count()).toBe(1);
    await page.fill('#monitor-q', '');
    await expect.poll(() => row(page, b.id).count()).toBe(1);

    await page.locator('#monitor-sessions a.flt[data-filter=infobase]').click();
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('f_infobase');
    await page.keyboard.type('HR');
    await expect.poll(() => row(page, a.id).count()).toBe(0);
    expect(await row(page, b.id).count()).toBe(1);
    await page.goBack();
    await expect.poll(() => page.url()).not.toContain('f_infobase=HR');
  });

  it('Terminate all right after typing a search counts and closes what the search box says, not the filter before it', async () => {
    const mine = await openAgent('Lebedev-TA');
    const others = [await openAgent('Zaitsev-TA'), await openAgent('Zaitseva-TA')];
    await page.goto(`${base}/monitor`);
    await expect.poll(() => row(page, mine.id).count()).toBe(1);
    // A slow link: the search typed a moment ago has not come back yet when Terminate all is pressed.
    await page.route(/\/monitor\?.*q=Lebedev/, async (route) => {
      await new Promise((r) => setTimeout(r, 1500));
      await route.continue();
    });
    await page.fill('#monitor-q', 'Lebedev-TA');
    await page.click('#monitor-actions [data-act=terminate-all]');
    const dialog = page.locator('#monitor-dialog');
    await dialog.waitFor({ state: 'visible' });
    expect(await dialog.textContent()).toContain('1 session that the current filter shows');
    await dialog.locator('button.danger').click();
    await dialog.waitFor({ state: 'hidden' });
    expect((await mine.heartbeat()).status).toBe(410);
    for (const other of others) expect((await other.heartbeat()).status).toBe(200);
  });

  it('with a column filter on, the filter panel arrives closed (its count says so) and closes on a click elsewhere', async () => {
    const a = await openAgent('Belov', { infobase: { id: 'ib-fin', name: 'Finance' } });
    await page.goto(`${base}/monitor?f_infobase=Finance`);
    await expect.poll(() => row(page, a.id).count()).toBe(1);
    const panel = page.locator('#monitor-filters');
    expect(await panel.getAttribute('open')).toBeNull();
    expect(await panel.locator('summary').textContent()).toContain('(1)');
    await panel.locator('summary').click();
    expect(await page.locator('#f_infobase').isVisible()).toBe(true);
    expect(await page.locator('#f_infobase').inputValue()).toBe('Finance');
    await page.locator('h1').click();
    expect(await panel.getAttribute('open')).toBeNull();
  });

  it('for support, Terminate all is unavailable until a search or filter narrows the list, and says why', async () => {
    await page.close();
    page = await signedInPage('support');
    const a = await openAgent('Orlov-TA');
    await page.goto(`${base}/monitor`);
    await expect.poll(() => row(page, a.id).count()).toBe(1);
    const all = page.locator('#monitor-actions [data-act=terminate-all]');
    expect(await all.getAttribute('aria-disabled')).toBe('true');
    expect(await all.getAttribute('title')).toBe('Narrow the list with a search or a filter first: support may not terminate every session at once.');
    await all.click({ force: true }); // (Playwright itself will not click what says it is disabled)
    await page.waitForTimeout(300);
    expect(await page.locator('#monitor-dialog').isVisible()).toBe(false);
    // Typed, not yet answered: available at once; cleared again, unavailable again.
    await page.fill('#monitor-q', 'Orlov');
    expect(await all.getAttribute('aria-disabled')).toBeNull();
    await page.fill('#monitor-q', '');
    await expect.poll(() => all.getAttribute('aria-disabled')).toBe('true');
    await page.fill('#monitor-q', 'Orlov-TA');
    await all.click();
    const dialog = page.locator('#monitor-dialog');
    await dialog.waitFor({ state: 'visible' });
    expect(await dialog.textContent()).toContain('1 session that the current filter shows');
  });

  it('the context menu offers the row actions', async () => {
    const a = await openAgent('Morozov');
    await page.goto(`${base}/monitor`);
    await row(page, a.id).locator('td').nth(1).click({ button: 'right' });
    const menu = page.locator('#monitor-menu');
    await menu.waitFor({ state: 'visible' });
    expect(await menu.locator('[data-act=close]').isEnabled()).toBe(true);
    expect(await menu.locator('[data-act=stop]').isDisabled()).toBe(true);
    await menu.locator('[data-act=reset]').click();
    const dialog = page.locator('#monitor-dialog');
    await dialog.waitFor({ state: 'visible' });
    expect(await dialog.textContent()).toContain('Reset the binding?');
    await page.keyboard.press('Escape');
  });

  it('takes a screenshot of the monitor with data', async () => {
    const agents = [];
    for (const [user, ib] of [['Ivanov', 'Accounting'], ['Petrova', 'HR'], ['Sidorov', 'Warehouse'], ['Kuznetsova', 'Accounting']] as const) {
      agents.push(await openAgent(user, { infobase: { id: `ib-${ib}`, name: ib }, features: ['reports'] }));
    }
    await agents[0].heartbeat({
      metrics: { cpuMs: { current: 120, total: 98000 }, memoryBytes: { current: 1048576, total: 734003200 } },
      packages: [
        { id: 'p-1', path: '/projects/sales.lgp', name: 'sales', version: '1.4.0', state: 'running', progress: 42, node: 'Join', nodeStartedAt: new Date().toISOString(), refs: ['/shared/lib.lgp'], origin: 'interactive' },
        { id: 'p-2', path: '/projects/hr.lgp', name: 'hr', version: '2.0.1', state: 'idle', origin: 'batch' },
      ],
    });
    await page.goto(`${base}/monitor?open=${agents[0].id}`);
    await page.waitForSelector(`tr[data-package-id="p-1"]`);
    // MONITOR_SCREENSHOT=.github/screenshots/monitor.png refreshes the README picture.
    const file = path.resolve(process.env.MONITOR_SCREENSHOT ?? path.join(os.tmpdir(), 'monitor.png'));
    fs.mkdirSync(path.dirname(file), { recursive: true });
    await page.screenshot({ path: file, fullPage: true });
    expect(fs.statSync(file).size).toBeGreaterThan(10_000);
  });
});
