import { createAdaptorServer } from '@hono/node-server';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, Page } from 'playwright-core';
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
import { launchChromium } from './browser.js';

// A phone (375 px): a client user in the cabinet, staff on list pages and the monitor; and the cabinet's
// tables in a 1280 px window.

const PASSWORD = 'correct horse battery';
const setup: Actor = { type: 'token', id: 0, name: 'e2e setup', role: 'admin', clientId: null, ip: null };
const hasher = new PasswordHasher(2);

let db: Db;
let server: Server;
let base: string;
let browser: Browser;
let licenseId: number;

beforeAll(async () => {
  ({ db } = openDatabase(':memory:'));
  await migrateToLatest(db);
  const { app } = createApp({ db, config: testConfig(), clock: systemClock, hasher });
  server = createAdaptorServer({ fetch: app.fetch }) as Server;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  browser = await launchChromium();
  const client = await createClient(db, setup, { name: 'Romashka LLC' }, Date.now());
  const lic = await createLicense(db, setup, { clientId: client.id, product: 'Accounting Suite', features: ['export', 'payroll', 'reports'], maxHosts: 4, selfResetQuota: 2 }, Date.now());
  licenseId = lic.id;
  const hash = await hasher.hash(PASSWORD);
  await createUser(db, { email: 'buh@romashka.example', passwordHash: hash, role: 'client', clientId: client.id }, Date.now());
  await createUser(db, { email: 'support@vendor.example', passwordHash: hash, role: 'support', clientId: null }, Date.now());
  for (const machine of ['1C-APP-01', 'RDP-FARM-01']) {
    const res = await fetch(`${base}/api/v1/sessions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ licenseKey: lic.key, fingerprint: { cpu: `CPU-${machine}`, board: 'B-1' }, machine: { hostname: machine, ip: '10.0.0.5' }, user: 'Смирнова О.П.' }),
    });
    expect(res.status).toBe(201);
  }
  // Sessions as the demo has them: a long user, a GUID for a name, an infobase with a long name, features.
  for (const machine of ['1C-APP-01', 'RDP-FARM-01']) {
    const res = await fetch(`${base}/api/v1/sessions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        licenseKey: lic.key,
        clientSessionId: `0dda06fe-ba9a-4312-8c1e-${machine === '1C-APP-01' ? 'a' : 'b'}0000000001`,
        fingerprint: { cpu: `CPU-${machine}`, board: 'B-1' },
        machine: { hostname: machine, ip: '10.0.0.11' },
        client: { ip: '10.1.1.32' },
        user: 'Регламентное задание',
        infobase: { id: 'zup', name: 'Зарплата и управление персоналом' },
        connectionType: 'background',
        features: ['export', 'payroll'],
      }),
    });
    expect(res.status).toBe(201);
  }
});

afterAll(async () => {
  await browser?.close();
  server?.close();
  await db?.destroy();
});

async function phone(email: string, locale: 'en' | 'ru', viewport = { width: 375, height: 800 }): Promise<Page> {
  const context = await browser.newContext({ viewport });
  await context.addCookies([{ name: 'sm_lang', value: locale, url: base }]);
  const page = await context.newPage();
  await page.goto(`${base}/login`);
  await page.fill('input[name=email]', email);
  await page.fill('input[name=password]', PASSWORD);
  await Promise.all([page.waitForURL((u) => !u.pathname.startsWith('/login')), page.click('main button.primary')]);
  return page;
}

/** How far the page scrolls sideways (wide tables scroll inside their own box instead). */
const pageOverflow = (page: Page) => page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);

/** Buttons and controls smaller than 24 px (WCAG 2.5.8), text links inside sentences aside. */
const smallTargets = (page: Page) =>
  page.$$eval('button, .button, input:not([type=hidden]):not([type=checkbox]):not([type=radio]), select, .top a', (els) =>
    els
      .filter((e) => (e as HTMLElement).offsetParent !== null)
      .map((e) => ({ what: `${e.tagName}.${e.className} ${(e.textContent ?? '').trim().slice(0, 20)}`, r: e.getBoundingClientRect() }))
      .filter(({ r }) => r.height < 24 || r.width < 24)
      .map(({ what, r }) => `${what} ${Math.round(r.width)}x${Math.round(r.height)}`),
  );

describe('on a phone', () => {
  it('a client user reads the license card in Russian without the page scrolling sideways, with tap targets of 24 px', async () => {
    const page = await phone('buh@romashka.example', 'ru');
    await page.goto(`${base}/cabinet/licenses/${licenseId}`);
    expect(await page.getAttribute('html', 'lang')).toBe('ru');
    expect(await pageOverflow(page)).toBe(0);
    expect(await smallTargets(page)).toEqual([]);
    await page.goto(`${base}/cabinet`);
    expect(await pageOverflow(page)).toBe(0);
    expect(await smallTargets(page)).toEqual([]);
    await page.context().close();
  });

  it('a client user reaches the binding reset of every computer without scrolling sideways, and reads a license key on one line', async () => {
    for (const locale of ['ru', 'en'] as const) {
      const page = await phone('buh@romashka.example', locale);
      await page.goto(`${base}/cabinet/licenses/${licenseId}`);
      // The reason field and the Reset button of each computer: on the screen, and not under anything else.
      const resets = await page.$$eval('#hosts .reset-form input:not([type=hidden]), #hosts .reset-form button', (els) =>
        els.map((e) => {
          // Scrolled to vertically only: the table's own box stays where the page shows it (scrolled to its start).
          window.scrollBy(0, e.getBoundingClientRect().top - window.innerHeight / 2);
          const r = e.getBoundingClientRect();
          const top = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
          return { what: `${e.tagName} ${Math.round(r.left)}..${Math.round(r.right)}`, inView: r.left >= 0 && r.right <= window.innerWidth && !!top && e.contains(top) };
        }),
      );
      expect(resets.length, locale).toBe(4);
      expect(resets.filter((x) => !x.inView).map((x) => x.what), locale).toEqual([]);
      expect(await pageOverflow(page), locale).toBe(0);
      // Cabinet home: the key is one line (the table scrolls in its box), not five.
      await page.goto(`${base}/cabinet`);
      const lines = await page.$eval('table.licenses a.mono', (a) => a.getClientRects().length);
      expect(lines, locale).toBe(1);
      expect(await pageOverflow(page), locale).toBe(0);
      await page.context().close();
    }
  });

  it('staff list pages and the monitor with its filters open stay within the screen', async () => {
    const page = await phone('support@vendor.example', 'en');
    for (const path of ['/clients', '/licenses', `/licenses/${licenseId}`]) {
      await page.goto(base + path);
      expect(await pageOverflow(page), path).toBe(0);
    }
    await page.goto(`${base}/monitor`);
    await page.click('#monitor-filters > summary');
    const box = await page.locator('.mon-filters').boundingBox();
    expect(box!.x).toBeGreaterThanOrEqual(0);
    expect(box!.x + box!.width).toBeLessThanOrEqual(375);
    await page.context().close();
  });
});

/** How far each table of this class runs past the box it scrolls in (0 when it fits). */
const tableOverflow = (page: Page, selector: string) => page.$$eval(selector, (ts) => ts.map((t) => t.scrollWidth - t.parentElement!.clientWidth));

describe('the cabinet’s tables', () => {
  it('in a 1280 px window, the live sessions fit their box in English and Russian: no column off the side or under Terminate', async () => {
    for (const locale of ['en', 'ru'] as const) {
      const page = await phone('buh@romashka.example', locale, { width: 1280, height: 900 });
      await page.goto(`${base}/cabinet`);
      const infobase = await page.getAttribute('table.infobases a', 'href');
      for (const path of ['/cabinet', `/cabinet/licenses/${licenseId}`, infobase!]) {
        await page.goto(base + path);
        const over = await tableOverflow(page, 'table.sessions-compact');
        expect(over.length, `${locale} ${path}`).toBe(1);
        expect(over, `${locale} ${path}`).toEqual([0]);
      }
      await page.context().close();
    }
  });

  it('on a phone, the licenses and the computers read without sideways scrolling, the reason field whole and clear of the fingerprint', async () => {
    for (const locale of ['ru', 'en'] as const) {
      const page = await phone('buh@romashka.example', locale);
      await page.goto(`${base}/cabinet`);
      expect(await tableOverflow(page, 'table.licenses'), locale).toEqual([0]);
      await page.goto(`${base}/cabinet/licenses/${licenseId}`);
      expect(await tableOverflow(page, 'table.hosts'), locale).toEqual([0]);
      const rows = await page.$$eval('table.hosts tbody tr', (trs) =>
        trs.map((tr) => {
          const input = tr.querySelector('.reset-form input[name=reason]') as HTMLInputElement;
          const hash = tr.querySelector('td.mono') as HTMLElement;
          window.scrollBy(0, input.getBoundingClientRect().top - window.innerHeight / 2);
          const a = input.getBoundingClientRect();
          const b = hash.getBoundingClientRect();
          const overlap = a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
          // The placeholder in the field's own font, against the room inside its padding.
          const css = getComputedStyle(input);
          const ctx = document.createElement('canvas').getContext('2d')!;
          ctx.font = `${css.fontWeight} ${css.fontSize} ${css.fontFamily}`;
          const room = input.clientWidth - parseFloat(css.paddingLeft) - parseFloat(css.paddingRight);
          const hashTop = document.elementFromPoint(b.left + b.width / 2, b.top + b.height / 2);
          return {
            host: tr.getAttribute('data-host-id'),
            overlap,
            placeholderFits: ctx.measureText(input.placeholder).width <= room,
            hashInView: b.left >= 0 && b.right <= window.innerWidth && !!hashTop && hash.contains(hashTop),
          };
        }),
      );
      expect(rows.length, locale).toBe(2);
      for (const r of rows) expect(r, locale).toEqual({ host: r.host, overlap: false, placeholderFits: true, hashInView: true });
      // The live sessions and the infobases too: each state badge whole and clear of Terminate, nothing off the side.
      for (const path of ['/cabinet', `/cabinet/licenses/${licenseId}`]) {
        await page.goto(`${base}${path}`);
        expect(await tableOverflow(page, 'table.sessions-compact'), `${locale} ${path}`).toEqual([0]);
        const states = await page.$$eval('table.sessions-compact tbody tr', (trs) =>
          trs.map((tr) => {
            const badge = (tr.querySelector('.sst') as HTMLElement).getBoundingClientRect();
            const button = (tr.querySelector('td.actions button') as HTMLElement).getBoundingClientRect();
            const overlap = badge.left < button.right && button.left < badge.right && badge.top < button.bottom && button.top < badge.bottom;
            return { overlap, inView: badge.left >= 0 && badge.right <= window.innerWidth };
          }),
        );
        expect(states.length, `${locale} ${path}`).toBeGreaterThan(0);
        for (const s of states) expect(s, `${locale} ${path}`).toEqual({ overlap: false, inView: true });
      }
      await page.goto(`${base}/cabinet`);
      if (await page.$('table.infobases')) expect(await tableOverflow(page, 'table.infobases'), locale).toEqual([0]);
      await page.context().close();
    }
  });
});
