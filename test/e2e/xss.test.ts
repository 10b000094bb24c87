import { type Browser, type Page } from 'playwright-core';
import { launchChromium } from './browser.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { baseUrl } from '../fuzz/fuzz-kit.js';
import { makeApp, type TestApp } from '../helpers/app.js';
import { pageUrls, seedXss, type XssWorld } from '../security/xss-world.js';

// The browser's view of the XSS payloads planted in every agent- and
// user-supplied string (test/security/xss-world.ts): on every page, as each
// role, after the htmx refresh and with the confirm dialogs open, no payload
// runs — no alert/confirm/prompt, no CSP refusal of an injected script, no
// marker in the console.


describe('XSS payloads never execute in the browser', () => {
  let t: TestApp;
  let w: XssWorld;
  let base: string;
  let browser: Browser;

  beforeAll(async () => {
    t = await makeApp({ captureRatePerIp: 1_000_000, captureRatePerKey: 1_000_000 });
    w = await seedXss(t, 2);
    base = await baseUrl(t);
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  /** A page signed in as the role, recording every sign of a script that should not run. */
  async function open(role: 'admin' | 'support' | 'client') {
    const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
    const [name, value] = w.viewers[role].cookie.split('=');
    await context.addCookies([{ name, value, url: base }]);
    const page = await context.newPage();
    const fired: string[] = [];
    page.on('dialog', (d) => {
      fired.push(`${d.type()}: ${d.message()}`);
      void d.dismiss();
    });
    page.on('console', (m) => {
      const text = m.text();
      if (/xq\d+z\d+|Content Security Policy|Refused to (execute|load)/i.test(text)) fired.push(`console ${m.type()}: ${text}`);
    });
    page.on('pageerror', (e) => fired.push(`page error: ${e.message}`));
    return { page, fired, close: () => context.close() };
  }

  async function visit(page: Page, url: string) {
    await page.goto(base + url, { waitUntil: 'load' });
    // Hovering and focusing every element gives attribute-borne payloads (onmouseover, onfocus) their chance.
    await page.evaluate(() => {
      for (const el of Array.from(document.querySelectorAll('body *')).slice(0, 2000)) {
        el.dispatchEvent(new MouseEvent('mouseover', { bubbles: true }));
        if (el instanceof HTMLElement) el.dispatchEvent(new FocusEvent('focus'));
      }
    });
  }

  it('control: the detectors see a dialog and an inline script the CSP refuses', async () => {
    const { page, fired, close } = await open('admin');
    try {
      await visit(page, '/account');
      await page.evaluate(() => alert('xq0z0'));
      await page.evaluate(() => {
        const s = document.createElement('script');
        s.textContent = 'alert("xq0z1")';
        document.body.append(s);
      });
      await expect.poll(() => fired.length).toBeGreaterThanOrEqual(2);
      expect(fired[0]).toBe('alert: xq0z0');
      expect(fired.some((f) => /Content Security Policy|Refused to execute/.test(f))).toBe(true);
    } finally {
      await close();
    }
  });

  for (const role of ['admin', 'support', 'client'] as const) {
    it(`as ${role}: every page`, async () => {
      const { page, fired, close } = await open(role);
      try {
        for (const url of pageUrls(t, w)) {
          await visit(page, url);
          expect(fired, url).toEqual([]);
        }
      } finally {
        await close();
      }
    });
  }

  it('the monitor: htmx refresh, expanded rows, info panel and confirm dialogs', async () => {
    const { page, fired, close } = await open('admin');
    try {
      await visit(page, `/monitor?open=${encodeURIComponent(w.client.sessionId)}&info=${encodeURIComponent(w.client.sessionId)}`);
      // Alt+F5 refreshes through htmx: the swapped-in fragment carries the payloads too.
      const refreshed = page.waitForResponse((r) => r.url().includes('/monitor') && r.request().headers()['hx-request'] === 'true');
      await page.keyboard.press('Alt+F5');
      await refreshed;
      await page.waitForLoadState('networkidle');
      // Each confirm link opens its dialog through htmx.
      const links = await page.locator('a[data-confirm-link]').count();
      for (let i = 0; i < Math.min(links, 6); i++) {
        const link = page.locator('a[data-confirm-link]').nth(i);
        if (!(await link.isVisible())) continue;
        await link.click({ timeout: 5000 });
        await page.locator('#monitor-dialog[open]').waitFor({ timeout: 5000 });
        await page.waitForLoadState('networkidle');
        await page.evaluate(() => (document.getElementById('monitor-dialog') as HTMLDialogElement | null)?.close());
      }
      expect(fired).toEqual([]);
      // The payloads are on the page, as text.
      const text = await page.locator('body').innerText();
      expect(text).toMatch(/xq2z\d+/);
    } finally {
      await close();
    }
  });
});
