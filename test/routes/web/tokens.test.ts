import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hashToken } from '../../../src/lib/tokens.js';
import { apiTokenByHash, createApiToken } from '../../../src/models/api-tokens.js';
import { loginAs, makeApp, type Session, type TestApp } from '../../helpers/app.js';

function alertText(html: string): string | undefined {
  return /<p class="msg error" role="alert"[^>]*>([^<]*)<\/p>/.exec(html)?.[1];
}

describe('API tokens page', () => {
  let t: TestApp;
  let admin: Awaited<ReturnType<typeof loginAs>>;
  beforeEach(async () => {
    t = await makeApp();
    admin = await loginAs(t, 'admin');
  });
  afterEach(() => t.close());

  const post = (s: Session, url: string, body: Record<string, string> = {}) => t.request.post(url).set('Cookie', s.cookie).type('form').send({ _csrf: s.csrf, ...body });
  const tokens = () => t.db.selectFrom('api_tokens').selectAll().orderBy('id').execute();
  const audit = (action: string) => t.db.selectFrom('audit_log').selectAll().where('action', '=', action).orderBy('id').execute();

  const get = (s: Session, url: string) => t.request.get(url).set('Cookie', s.cookie);

  async function create(name: string, role?: string): Promise<string> {
    const res = await post(admin, '/tokens', role ? { name, role } : { name });
    expect(res.status).toBe(303);
    const page = await get(admin, res.headers.location);
    expect(page.status).toBe(200);
    const token = /data-copy="(smt_[A-Za-z0-9_-]+)"/.exec(page.text)?.[1];
    expect(token).toBeDefined();
    return token!;
  }

  it('shows a new token once, with a copy button, and stores only its SHA-256', async () => {
    const created = await post(admin, '/tokens', { name: 'Billing <sync>', role: 'admin' });
    expect(created.status).toBe(303);
    const res = await get(admin, created.headers.location);
    expect(res.status).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    const token = /<code class="secret"[^>]*>(smt_[A-Za-z0-9_-]+)<\/code>/.exec(res.text)?.[1];
    expect(token).toMatch(/^smt_[A-Za-z0-9_-]{43}$/);
    expect(res.text).toContain(`data-copy="${token}"`);
    expect(res.text).toContain('it is shown only this once');
    expect(res.text).toContain('Billing &lt;sync&gt;');
    // The language switch reloads the page, which would lose the token: it asks first (app.js's confirm dialog).
    expect(res.text).toContain('<form method="post" action="/locale" class="inline" data-confirm="Switch the language? The page reloads and the token is not shown again: copy it first.">');
    expect((await get(admin, '/tokens')).text).toContain('<form method="post" action="/locale" class="inline">');

    const rows = await tokens();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ name: 'Billing <sync>', role: 'admin', created_by: admin.user.id, revoked_at: null, last_used_at: null });
    expect(rows[0].token_hash).toBe(hashToken(token!));
    // The plaintext is nowhere in the database, and the list never shows it again.
    const everything = JSON.stringify([rows, await t.db.selectFrom('audit_log').selectAll().execute()]);
    expect(everything).not.toContain(token!);
    const list = await t.request.get('/tokens').set('Cookie', admin.cookie);
    expect(list.text).not.toContain(token!);
    expect(list.text).toContain('Billing &lt;sync&gt;');
    expect(list.text).toContain(admin.user.email);
    expect(list.text).toContain('never');
    expect((await apiTokenByHash(t.db, hashToken(token!)))?.role).toBe('admin');

    const createdAudit = await audit('token.created');
    expect(createdAudit).toHaveLength(1);
    expect(createdAudit[0]).toMatchObject({ actor_id: admin.user.id, target_type: 'api_token', target_id: String(rows[0].id), target_label: 'Billing <sync>' });
    expect(JSON.parse(createdAudit[0].details!)).toEqual({ role: 'admin' });
  });

  it('defaults to the support role', async () => {
    await create('Read-only dashboards');
    expect((await tokens())[0].role).toBe('support');
  });

  it('refuses a missing name, a long name and a wrong role; creates nothing', async () => {
    for (const [body, message] of [
      [{ name: '   ', role: 'support' }, 'Give the token a name.'],
      [{ name: 'x'.repeat(101), role: 'support' }, 'The name must be at most 100 characters.'],
      [{ name: 'ok', role: 'client' }, 'Choose the role administrator or support.'],
    ] as const) {
      const res = await post(admin, '/tokens', body);
      expect(res.status).toBe(400);
      expect(alertText(res.text)).toBe(message);
      expect(res.text).not.toContain('data-copy="smt_');
    }
    expect(await tokens()).toHaveLength(0);
    expect(await audit('token.created')).toHaveLength(0);
  });

  it('revokes a token behind a confirm; the token stops working; audited once', async () => {
    const token = await create('CRM');
    const [row] = await tokens();
    const list = await t.request.get('/tokens').set('Cookie', admin.cookie);
    expect(list.text).toContain(`action="/tokens/${row.id}/revoke"`);
    expect(list.text).toContain(`data-confirm="Revoke the token &quot;CRM&quot; (${token.slice(0, 8)}…)?`);
    // A link naming a live token does not make the page say it was revoked.
    const forged = await t.request.get(`/tokens?revoked=${row.id}`).set('Cookie', admin.cookie);
    expect(forged.text).not.toContain('revoked.');

    const res = await post(admin, `/tokens/${row.id}/revoke`);
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe(`/tokens?revoked=${row.id}`);
    expect((await tokens())[0].revoked_at).toBe(t.clock.now());
    expect(await apiTokenByHash(t.db, hashToken(token))).toBeUndefined();
    const after = await t.request.get(res.headers.location).set('Cookie', admin.cookie);
    expect(after.text).toContain(`Token &quot;CRM&quot; (${token.slice(0, 8)}…) revoked.`);
    expect(after.text).not.toContain(`action="/tokens/${row.id}/revoke"`);
    expect(after.text).toContain('Revoked');

    expect((await post(admin, `/tokens/${row.id}/revoke`)).status).toBe(303);
    const revoked = await audit('token.revoked');
    expect(revoked).toHaveLength(1);
    expect(revoked[0]).toMatchObject({ actor_id: admin.user.id, target_id: String(row.id), target_label: 'CRM' });
    expect((await post(admin, '/tokens/9999/revoke')).status).toBe(404);
  });

  it('creates with POST-redirect-GET: a reload of the page creates nothing and shows the secret no more', async () => {
    const res = await post(admin, '/tokens', { name: 'billing', role: 'support' });
    expect(res.status).toBe(303);
    const [row] = await tokens();
    expect(res.headers.location).toBe(`/tokens/${row.id}/created`);
    // The secret travels in no URL, no cookie and not in the redirect itself.
    expect(res.headers['set-cookie']).toBeUndefined();
    expect(res.text).not.toMatch(/smt_/);

    const first = await get(admin, res.headers.location);
    const token = /<code class="secret"[^>]*>(smt_[A-Za-z0-9_-]{43})<\/code>/.exec(first.text)?.[1];
    expect(token).toBeDefined();
    expect(row.token_hash).toBe(hashToken(token!));
    expect(first.text).toContain(`Authorization: Bearer ${token!.slice(0, 8)}…`);

    // Reload, and Back/Forward (no-store: the browser asks again): the same token, named, never its secret.
    for (let i = 0; i < 2; i++) {
      const again = await get(admin, res.headers.location);
      expect(again.status).toBe(200);
      expect(again.headers['cache-control']).toBe('no-store');
      expect(again.text).not.toContain(token!);
      expect(again.text).not.toContain('data-copy="smt_');
      expect(again.text).toContain('A token is shown only once, right after it is created, and never again');
      expect(again.text).toContain(`<code>${token!.slice(0, 8)}…</code>`);
      expect(again.text).toContain(`action="/tokens/${row.id}/revoke"`);
    }
    expect(await tokens()).toHaveLength(1);
    expect(await audit('token.created')).toHaveLength(1);
    expect((await get(admin, '/tokens/9999/created')).status).toBe(404);
  });

  it('shows the secret only to the login that made it, only within ten minutes, and never a HEAD', async () => {
    const other = await loginAs(t, 'admin');
    const res = await post(admin, '/tokens', { name: 'billing' });
    expect((await get(other, res.headers.location)).text).not.toContain('data-copy="smt_');
    expect((await t.request.head(res.headers.location).set('Cookie', admin.cookie)).status).toBe(200);
    expect((await get(admin, res.headers.location)).text).toContain('data-copy="smt_');

    const late = await post(admin, '/tokens', { name: 'billing' });
    t.clock.advance(10 * 60_000);
    const page = await get(admin, late.headers.location);
    expect(page.text).not.toContain('data-copy="smt_');
    expect(page.text).toContain('A token is shown only once');

    // Revoked before it was seen: nothing left worth showing.
    const revoked = await post(admin, '/tokens', { name: 'billing' });
    const id = Number(/\/tokens\/(\d+)\/created/.exec(revoked.headers.location)![1]);
    await post(admin, `/tokens/${id}/revoke`);
    expect((await get(admin, revoked.headers.location)).text).not.toContain('data-copy="smt_');
  });

  it('says so in Russian too, on the page seen again', async () => {
    await t.db.updateTable('users').set({ locale: 'ru' }).where('id', '=', admin.user.id).execute();
    const res = await post(admin, '/tokens', { name: 'биллинг' });
    expect((await get(admin, res.headers.location)).text).toContain('Скопируйте токен сейчас');
    expect((await get(admin, res.headers.location)).text).toContain('Токен показывается только один раз, сразу после создания, и больше никогда');
  });

  it('tells tokens of one name apart by their first characters, in the list and in the revoke prompt', async () => {
    const first = await create('billing');
    const second = await create('billing');
    const rows = await tokens();
    // Kept: the prefix and 4 random characters (24 of 256 bits); never more of the token.
    expect(rows.map((r) => r.display_prefix)).toEqual([first.slice(0, 8), second.slice(0, 8)]);
    expect(first.slice(0, 8)).not.toBe(second.slice(0, 8));

    const list = await t.request.get('/tokens').set('Cookie', admin.cookie);
    for (const [row, token] of [
      [rows[0], first],
      [rows[1], second],
    ] as const) {
      expect(list.text).toContain(`<code>${token.slice(0, 8)}…</code>`);
      expect(list.text).not.toContain(token.slice(0, 9));
      const form = new RegExp(`<form[^>]*action="/tokens/${row.id}/revoke"[^>]*>`).exec(list.text)?.[0];
      expect(form).toContain(`data-confirm="Revoke the token &quot;billing&quot; (${token.slice(0, 8)}…)?`);
    }
  });

  it('names a token made before prefixes were kept by its number, in English and Russian', async () => {
    const old = await createApiToken(t.db, { name: 'billing', tokenHash: 'a'.repeat(64), role: 'support', createdBy: null }, t.clock.now());
    expect(old.display_prefix).toBeNull();
    const list = await t.request.get('/tokens').set('Cookie', admin.cookie);
    expect(list.text).toContain(`>#${old.id}</span>`);
    expect(list.text).toContain(`data-confirm="Revoke the token &quot;billing&quot; (#${old.id})?`);

    await t.db.updateTable('users').set({ locale: 'ru' }).where('id', '=', admin.user.id).execute();
    const ru = await t.request.get('/tokens').set('Cookie', admin.cookie);
    expect(ru.text).toContain(`>№${old.id}</span>`);
    expect(ru.text).toContain(`data-confirm="Отозвать токен «billing» (№${old.id})?`);
    const revoked = await post(admin, `/tokens/${old.id}/revoke`);
    expect((await t.request.get(revoked.headers.location).set('Cookie', admin.cookie)).text).toContain(`Токен «billing» (№${old.id}) отозван.`);
  });

  it('is for admins only: support 403, client users 404, nothing changes', async () => {
    await create('keep me');
    const [row] = await tokens();
    for (const [role, status] of [
      ['support', 403],
      ['client', 404],
    ] as const) {
      const s = await loginAs(t, role);
      expect((await t.request.get('/tokens').set('Cookie', s.cookie)).status).toBe(status);
      expect((await post(s, '/tokens', { name: 'sneaky', role: 'admin' })).status).toBe(status);
      expect((await get(s, `/tokens/${row.id}/created`)).status).toBe(status);
      expect((await post(s, `/tokens/${row.id}/revoke`)).status).toBe(status);
    }
    expect((await tokens()).map((r) => [r.name, r.revoked_at])).toEqual([['keep me', null]]);
  });
});
