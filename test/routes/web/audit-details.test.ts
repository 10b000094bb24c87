import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Actor } from '../../../src/models/actor.js';
import { recordAudit } from '../../../src/models/audit.js';
import { createClient, updateClient } from '../../../src/models/clients.js';
import { setLock } from '../../../src/models/infobases.js';
import { createLicense, updateLicense } from '../../../src/models/licenses.js';
import { changeSettings } from '../../../src/models/settings-changes.js';
import { changeUserRole } from '../../../src/models/users.js';
import { loginAs, makeUser, type TestApp, makeApp } from '../../helpers/app.js';

/** The page's text as a reader sees it: tags gone, entities decoded, spaces collapsed. */
const visible = (html: string) =>
  html
    .replace(/<[^>]*>/g, ' ')
    .replace(/&quot;/g, '"')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&')
    .replace(/\s+/g, ' ')
    .replace(/ ;/g, ';');

describe('audit page: what changed', () => {
  let t: TestApp;
  let viewer: Awaited<ReturnType<typeof loginAs>>;
  let admin: Actor;
  beforeEach(async () => {
    t = await makeApp();
    viewer = await loginAs(t, 'support');
    await t.db.updateTable('users').set({ time_zone: 'UTC' }).where('id', '=', viewer.user.id).execute();
    admin = { type: 'user', id: viewer.user.id, name: 'alice@vendor.test', role: 'admin', clientId: null, ip: '10.0.0.1' };
  });
  afterEach(() => t.close());

  const page = async (query = '') => {
    const res = await t.request.get('/audit' + query).set('Cookie', viewer.cookie);
    expect(res.status).toBe(200);
    return res;
  };

  it('shows a license edit field by field, with the catalogue labels', async () => {
    const client = await createClient(t.db, admin, { name: 'Acme' }, t.clock.now());
    const lic = await createLicense(t.db, admin, { clientId: client.id, product: 'Payroll', maxHosts: 3, maxSessions: 12 }, t.clock.now());
    await updateLicense(t.db, admin, lic.id, { maxHosts: 1, maxSessions: 2 }, t.clock.now());
    await updateLicense(t.db, admin, lic.id, { maxSessions: null, features: ['reports'] }, t.clock.now());
    const text = visible((await page('?action=license.updated')).text);
    expect(text).toContain('Host limit: 3 → 1; Concurrent session limit: 12 → 2');
    expect(text).toContain('Concurrent session limit: 2 → No limit; Features: — → reports');
    const created = visible((await page('?action=license.created')).text);
    expect(created).toContain('Product: Payroll');
    expect(created).toContain('Host limit: 3');
    expect(created).toContain('Expires: Never');
    // Numbers grouped as the license card writes them.
    await updateLicense(t.db, admin, lic.id, { maxHosts: 1500 }, t.clock.now());
    expect(visible((await page('?action=license.updated')).text)).toContain('Host limit: 1 → 1,500');
  });

  it('shows role changes, settings and client edits in the viewer\'s language', async () => {
    await t.db.updateTable('users').set({ locale: 'ru' }).where('id', '=', viewer.user.id).execute();
    const staff = await makeUser(t, 'admin');
    await makeUser(t, 'admin'); // not the last admin, so the role may change
    await changeUserRole(t.db, admin, staff.id, 'support', t.clock.now());
    await changeSettings(t.db, admin, { heartbeatIntervalSec: 30, retentionDays: 60 }, t.clock.now());
    const client = await createClient(t.db, admin, { name: 'Acme', phone: '+7 495' }, t.clock.now());
    await updateClient(t.db, admin, client.id, { name: 'Acme Ltd', phone: null, contactPerson: 'Ivanov' }, t.clock.now());
    const text = visible((await page()).text);
    expect(text).toContain('Роль изменена');
    expect(text).toContain('Администратор → Техподдержка');
    expect(text).toContain('Интервал сигналов, секунд: 60 → 30; Хранить историю, дней: 30 → 60');
    expect(text).toContain('Название: Acme → Acme Ltd; Телефон: +7 495 → —; Контактное лицо: — → Ivanov');
    // Labels come from the catalogue: no raw keys where a label exists.
    for (const key of ['heartbeatIntervalSec', 'retentionDays', 'contact_person', '"from"']) expect(text).not.toContain(key);
  });

  it('shows a lock\'s parameters but never its permission code', async () => {
    const client = await createClient(t.db, admin, { name: 'Acme' }, t.clock.now());
    const ib = await t.db
      .insertInto('infobases')
      .values({ client_id: client.id, external_id: 'ib-1', name: 'Accounting', created_at: t.clock.now() })
      .returning('id')
      .executeTakeFirstOrThrow();
    const to = Date.parse('2030-01-02T14:00:00Z');
    await setLock(t.db, admin, ib.id, { message: 'Closing the month', to, permissionCode: 'S3CRET-CODE', denyBackgroundJobs: true }, t.clock.now());
    const res = await page('?action=infobase.locked');
    const text = visible(res.text);
    expect(text).toContain('From: at once; To: 02 Jan 2030, 14:00:00; Message to refused users: Closing the month; Permission code: set (not shown)');
    expect(text).toContain('Refuse new sessions: Yes; Refuse background jobs: Yes');
    expect(res.text).not.toContain('S3CRET-CODE');
    // Nor is it stored, so no other page can show it.
    const rows = await t.db.selectFrom('audit_log').select('details').execute();
    expect(rows.map((r) => r.details ?? '').join()).not.toContain('S3CRET-CODE');
  });

  it('escapes values, shortens long ones (whole in the tooltip), names unknown keys raw and hides secret-looking keys', async () => {
    const long = 'x'.repeat(300);
    await recordAudit(
      t.db,
      admin,
      {
        action: 'client.updated',
        targetType: 'client',
        targetId: 1,
        details: {
          notes: { from: '<script>alert(1)</script>', to: long },
          loyaltyLevel: 'gold',
          permissionCode: '1234',
          tokenHash: 'abcdef0123',
          passwordHash: '$argon2id$v=19$secret',
        },
      },
      t.clock.now(),
    );
    const res = await page();
    expect(res.text).not.toContain('<script>alert(1)</script>');
    expect(res.text).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    const text = visible(res.text);
    expect(text).toContain(`Notes: <script>alert(1)</script> → ${'x'.repeat(79)}…; loyaltyLevel: gold`);
    expect(text).not.toContain('x'.repeat(81) + ' ');
    expect(res.text).toContain(`title="&lt;script&gt;alert(1)&lt;/script&gt; → ${long}"`);
    for (const secret of ['1234', 'abcdef0123', 'argon2id', 'permissionCode', 'tokenHash']) expect(res.text).not.toContain(secret);
  });

  it('leaves the cell empty when there are no details, and skips details that say nothing', async () => {
    await recordAudit(t.db, admin, { action: 'session.terminate', targetType: 'session', targetId: 'abc', details: { message: null } }, t.clock.now());
    await recordAudit(t.db, admin, { action: 'login' }, t.clock.now() + 1);
    const res = await page();
    expect(res.text).toContain('<td class="audit-details"></td>');
    expect(visible(res.text)).not.toContain('Message');
  });
});
