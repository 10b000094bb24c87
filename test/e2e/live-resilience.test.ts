import { createAdaptorServer } from '@hono/node-server';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Browser, type Page, type Route } from 'playwright-core';
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
import { launchChromium } from './browser.js';

// The monitor on a bad link: polls that get no answer, an error, a foreign page or a 401; slow answers.
// Polls are fired by hand (the timer's own 'every' event on #monitor-live), not waited for.

const PASSWORD = 'correct horse battery';
const setup: Actor = { type: 'token', id: 0, name: 'e2e setup', role: 'admin', clientId: null, ip: null };
const hasher = new PasswordHasher(2);

let db: Db;
let server: Server;
let base: string;
let browser: Browser;
let licenseKey: string;
let n = 0;

async function openAgent(user: string): Promise<string> {
  const i = ++n;
  const res = await fetch(`${base}/api/v1/sessions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      licenseKey,
      clientSessionId: `live-${i}-${Date.now()}`,
      fingerprint: { cpu: 'BFEBFBFF000906EA', board: 'LIVE-BOARD' },
      machine: { hostname: 'ACC-SRV-01', os: 'Windows Server 2022', ip: '10.0.0.5' },
      client: { ip: `10.0.2.${i}`, hostname: `PC-${i}` },
      user,
      infobase: { id: 'ib-acc', name: 'Accounting' },
      app: { name: 'Payroll', version: '3.2.1' },
    }),
  });
  if (res.status !== 201) throw new Error(`capture failed: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { sessionId: string }).sessionId;
}

let email = '';
async function signIn(page: Page) {
  await page.fill('input[name=email]', email);
  await page.fill('input[name=password]', PASSWORD);
  await Promise.all([page.waitForURL((u) => u.pathname !== '/login'), page.click('main button.primary')]);
}

async function signedInPage(): Promise<Page> {
  email = `live-${++n}@e2e.example`;
  await createUser(db, { email, passwordHash: await hasher.hash(PASSWORD), role: 'admin' }, Date.now());
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } }); // its own, so another tab can share the login
  const page = await context.newPage();
  await page.goto(`${base}/login`);
  await signIn(page);
  return page;
}

/** A poll as the 5-second timer fires it. */
const poll = (page: Page) => page.evaluate(() => document.getElementById('monitor-live')!.dispatchEvent(new CustomEvent('every')));
const isLivePoll = (url: URL) => url.pathname === '/monitor';
const notice = (page: Page) => page.locator('#monitor-link').textContent();
const sessionRows = (page: Page) => page.locator('#monitor-sessions tbody tr[data-session-id]:not([data-package-id])').count();
/** Waits for the next answer (or failure) of a live poll. */
function pollSettled(page: Page): Promise<unknown> {
  return Promise.race([
    page.waitForEvent('requestfinished', (r) => isLivePoll(new URL(r.url())) && !!r.headers()['x-auto-refresh']),
    page.waitForEvent('requestfailed', (r) => isLivePoll(new URL(r.url())) && !!r.headers()['x-auto-refresh']),
  ]);
}

beforeAll(async () => {
  ({ db } = openDatabase(':memory:'));
  await migrateToLatest(db);
  const { app } = createApp({ db, config: testConfig(), clock: systemClock, hasher });
  server = createAdaptorServer({ fetch: app.fetch }) as Server;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const client = await createClient(db, setup, { name: 'Flaky Link LLC' }, Date.now());
  licenseKey = (await createLicense(db, setup, { clientId: client.id, product: 'Payroll', maxHosts: 5 }, Date.now())).key;
  await openAgent('Ivanov');
  await openAgent('Petrov');
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  server?.close();
  await db?.destroy();
});

describe('the monitor on a bad link', () => {
  let page: Page;
  beforeEach(async () => {
    page = await signedInPage();
    await page.goto(`${base}/monitor`);
    expect(await sessionRows(page)).toBe(2);
  });
  afterEach(async () => {
    await page.context().close();
  });

  it('no answer: says the data is as of the last good answer, keeps the table, sends one poll at a time, clears on the next good answer', async () => {
    expect(await notice(page)).toBe('');
    const held: Route[] = [];
    await page.route(isLivePoll, (route) => void held.push(route)); // the server does not answer
    await poll(page);
    await expect.poll(() => held.length).toBe(1);
    await poll(page); // ticks while one is on its way are skipped, not queued behind it
    await poll(page);
    await page.waitForTimeout(300);
    expect(held.length).toBe(1);
    const failed = pollSettled(page);
    await held[0].abort('connectionrefused');
    await failed;
    await expect.poll(() => notice(page)).toMatch(/^Connection lost — data as of \d\d:\d\d:\d\d, retrying…$/);
    expect(await sessionRows(page)).toBe(2);
    expect(await page.getAttribute('#monitor-link', 'role')).toBe('status');

    await page.unroute(isLivePoll);
    const ok = pollSettled(page);
    await poll(page);
    await ok; // 304 (nothing changed): a good answer too
    await expect.poll(() => notice(page)).toBe('');
    expect(await sessionRows(page)).toBe(2);
  });

  it('an error or a foreign page in answer to a poll leaves the table and the refreshing in place and says so', async () => {
    await page.route(isLivePoll, (route) => route.fulfill({ status: 404, contentType: 'text/html', body: '<p class="msg error" role="alert">There is no such page</p>' }));
    await poll(page);
    await expect.poll(() => notice(page)).toMatch(/^Refresh failed \(HTTP 404\) — data as of \d\d:\d\d:\d\d, retrying…$/);
    expect(await page.locator('#monitor-live').count()).toBe(1);
    expect(await sessionRows(page)).toBe(2);

    await page.unroute(isLivePoll);
    await page.route(isLivePoll, (route) => route.fulfill({ status: 200, contentType: 'text/html', body: '<html><body><h1>Proxy sign-in</h1></body></html>' }));
    await poll(page);
    await expect.poll(() => notice(page)).toMatch(/^Refresh failed \(HTTP 200\)/);
    expect(await page.locator('#monitor-live').count()).toBe(1);

    await page.unroute(isLivePoll);
    await page.route(isLivePoll, (route) => route.fulfill({ status: 502, contentType: 'text/html', body: '<h1>Bad gateway</h1>' }));
    await poll(page);
    await expect.poll(() => notice(page)).toMatch(/^Refresh failed \(HTTP 502\)/);
    expect(await sessionRows(page)).toBe(2);

    await page.unroute(isLivePoll);
    const ok = pollSettled(page);
    await poll(page);
    await ok;
    await expect.poll(() => notice(page)).toBe('');
  });

  it('a login ended meanwhile leads to the login page, and back to the same view after signing in', async () => {
    await page.goto(`${base}/monitor?q=Petrov`);
    expect(await sessionRows(page)).toBe(1);
    const other = await page.context().newPage();
    await other.goto(`${base}/account`);
    await Promise.all([other.waitForURL(/\/login/), other.click('header form[action="/logout"] button')]);
    await other.close();
    await Promise.all([page.waitForURL(/\/login\?next=/), poll(page)]);
    await signIn(page);
    expect(new URL(page.url()).pathname + new URL(page.url()).search).toBe('/monitor?q=Petrov');
    expect(await page.inputValue('#monitor-q')).toBe('Petrov');
    expect(await sessionRows(page)).toBe(1);
  });

  it('a search answered after a refresh replaced the table still shows (it is not dropped)', async () => {
    // The search's answer is slow; a refresh that brings new rows lands first.
    await page.route(
      (u) => isLivePoll(u) && u.searchParams.get('q') === 'Petrov',
      async (route) => {
        await new Promise((r) => setTimeout(r, 1200));
        await route.continue();
      },
    );
    const searching = page.waitForRequest((r) => new URL(r.url()).searchParams.get('q') === 'Petrov');
    await page.fill('#monitor-q', 'Petrov');
    await searching;
    // The refresh asks without a validator, so it answers the whole part (200) and replaces it.
    await page.route(
      (u) => isLivePoll(u) && !u.searchParams.get('q'),
      (route) => {
        const headers = { ...route.request().headers() };
        delete headers['if-none-match'];
        return route.continue({ headers });
      },
    );
    const replaced = page.waitForResponse((r) => isLivePoll(new URL(r.url())) && !new URL(r.url()).searchParams.get('q') && r.status() === 200);
    await poll(page);
    await replaced;
    await page.waitForResponse((r) => new URL(r.url()).searchParams.get('q') === 'Petrov');
    await expect.poll(() => page.getAttribute('#monitor-live', 'hx-get')).toBe('/monitor?q=Petrov');
    expect(await sessionRows(page)).toBe(1);
  });

  it('a confirmed action on a slow link is sent once and shows it is on its way; a failed one says so in the dialog', async () => {
    const dialog = page.locator('#monitor-dialog');
    const openConfirm = async () => {
      await page.locator('#monitor-sessions tbody tr[data-session-id][tabindex]:not([data-package-id])').first().locator('td').nth(1).click();
      await page.keyboard.press('Delete');
      await dialog.waitFor({ state: 'visible' });
    };
    await openConfirm();
    let posts = 0;
    await page.route('**/terminate', async (route) => {
      posts++;
      await new Promise((r) => setTimeout(r, 200));
      await route.fulfill({ status: 500, contentType: 'text/html', body: '<p class="msg error" role="alert">Internal error</p>' });
    });
    const button = dialog.locator('button.danger');
    await button.click();
    expect(await dialog.locator('form').getAttribute('aria-busy')).toBe('true');
    await button.click({ force: true });
    await expect.poll(() => dialog.locator('p[data-link-error]').textContent()).toBe('The server could not take the action (HTTP 500). Try again.');
    expect(posts).toBe(1);
    expect(await dialog.evaluate((d: HTMLDialogElement) => d.open)).toBe(true);
    expect(await dialog.locator('form').getAttribute('aria-busy')).toBe(null);
    // The table is not replaced by the error.
    expect(await page.locator('#monitor-live').count()).toBe(1);
    expect(await sessionRows(page)).toBe(2);

    await page.unroute('**/terminate');
    await page.route('**/terminate', (route) => route.abort('connectionreset'));
    await button.click();
    await expect.poll(() => dialog.locator('p[data-link-error]').textContent()).toMatch(/^No answer from the server/);
    await expect.poll(() => notice(page)).toMatch(/^Connection lost/);
    expect(await sessionRows(page)).toBe(2);
  });
});
