import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AppError } from '../../../src/lib/errors.js';
import { createApiToken } from '../../../src/models/api-tokens.js';
import { hashToken, newToken } from '../../../src/lib/tokens.js';
import { changeUserRole, disableUser } from '../../../src/models/users.js';
import { login, loginAs, makeApp, makeClient, makeUser, TEST_PASSWORD, type Session, type TestApp } from '../../helpers/app.js';

const NEW_PASSWORD = 'fresh initial passphrase';

function alertText(html: string): string | undefined {
  return /<p class="msg error" role="alert"[^>]*>([^<]*)<\/p>/.exec(html)?.[1];
}

describe('users page', () => {
  let t: TestApp;
  let admin: Awaited<ReturnType<typeof loginAs>>;
  beforeEach(async () => {
    t = await makeApp();
    admin = await loginAs(t, 'admin');
  });
  afterEach(() => t.close());

  const post = (s: Session, url: string, body: Record<string, string> = {}) => t.request.post(url).set('Cookie', s.cookie).type('form').send({ _csrf: s.csrf, ...body });
  const userRow = (id: number) => t.db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  const userByEmail = (email: string) => t.db.selectFrom('users').selectAll().where('email', '=', email).executeTakeFirst();
  const audit = (action: string) => t.db.selectFrom('audit_log').selectAll().where('action', '=', action).orderBy('id').execute();
  const sessionsOf = (id: number) => t.db.selectFrom('web_sessions').selectAll().where('user_id', '=', id).execute();
  const canLogin = async (email: string, password: string) => (await t.request.post('/login').type('form').send({ email, password })).status === 303;

  it('from a client card: that client\'s users only, and the new-user form set for one more of them', async () => {
    const acme = await makeClient(t, 'Acme');
    const other = await makeClient(t, 'Globex');
    const buyer = await makeUser(t, 'client', { email: 'buyer@acme.test', clientId: acme });
    const stranger = await makeUser(t, 'client', { email: 'boss@globex.test', clientId: other });
    const card = await t.request.get(`/clients/${acme}`).set('Cookie', admin.cookie);
    expect(card.text).toContain(`href="/users?client=${acme}"`);
    const res = await t.request.get(`/users?client=${acme}`).set('Cookie', admin.cookie);
    expect(res.status).toBe(200);
    expect(res.text).toContain(buyer.email);
    expect(res.text).not.toContain(stranger.email);
    expect(res.text).not.toContain(`href="/users/${admin.user.id}"`); // staff rows are not that client's either
    expect(res.text).toContain('Client: <b>Acme</b>');
    expect(res.text).toContain('<a href="/users" aria-label="Show the users of every client">');
    expect(res.text).toMatch(/<option value="client" selected="">/);
    expect(res.text).toMatch(new RegExp(`<option value="${acme}" selected="">`));
    for (const bad of ['999', 'abc', '0']) expect((await t.request.get(`/users?client=${bad}`).set('Cookie', admin.cookie)).status, bad).toBe(404);
    const support = await loginAs(t, 'support');
    expect((await t.request.get(`/users?client=${acme}`).set('Cookie', support.cookie)).status).toBe(403);
  });

  it("changes a user's e-mail and name: they sign in with the new address; a taken or bad one is refused, the form keeps what was typed", async () => {
    const clientId = await makeClient(t, 'Acme');
    const buyer = await makeUser(t, 'client', { email: 'buyer@acme.test', clientId });
    await makeUser(t, 'support', { email: 'helper@vendor.test' });
    const page = await t.request.get(`/users/${buyer.id}`).set('Cookie', admin.cookie);
    expect(page.text).toContain(`action="/users/${buyer.id}/details"`);
    expect(page.text).toContain('value="buyer@acme.test"');

    const res = await post(admin, `/users/${buyer.id}/details`, { email: ' Purchasing@Acme.test ', name: '  Ivan <Petrov> ' });
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe(`/users/${buyer.id}?done=updated`);
    expect(await userRow(buyer.id)).toMatchObject({ email: 'purchasing@acme.test', name: 'Ivan <Petrov>', role: 'client', client_id: clientId });
    const done = await t.request.get(res.headers.location).set('Cookie', admin.cookie);
    expect(done.text).toContain('User purchasing@acme.test saved.');
    expect(done.text).toContain('Ivan &lt;Petrov&gt;');
    expect(await canLogin('purchasing@acme.test', TEST_PASSWORD)).toBe(true);
    expect(await canLogin('buyer@acme.test', TEST_PASSWORD)).toBe(false);
    const [row] = await audit('user.updated');
    expect(row).toMatchObject({ target_type: 'user', target_id: String(buyer.id), target_label: 'purchasing@acme.test', client_id: clientId });
    expect(JSON.parse(row.details!)).toEqual({ email: { from: 'buyer@acme.test', to: 'purchasing@acme.test' }, name: { from: null, to: 'Ivan <Petrov>' } });
    const log = await t.request.get(`/audit?targetType=user&targetId=${buyer.id}`).set('Cookie', admin.cookie);
    expect(log.text).toContain('User changed');
    expect(log.text).toContain('buyer@acme.test → purchasing@acme.test');

    // Saving what is there changes nothing and writes nothing.
    expect((await post(admin, `/users/${buyer.id}/details`, { email: 'purchasing@acme.test', name: 'Ivan <Petrov>' })).status).toBe(303);
    expect(await audit('user.updated')).toHaveLength(1);

    const before = await userRow(buyer.id);
    const taken = await post(admin, `/users/${buyer.id}/details`, { email: 'HELPER@vendor.test', name: 'Someone' });
    expect(taken.status).toBe(409);
    expect(alertText(taken.text)).toBe('A user with this e-mail already exists.');
    expect(taken.text).toContain('value="HELPER@vendor.test"');
    expect(taken.text).toContain('value="Someone"');
    const bad = await post(admin, `/users/${buyer.id}/details`, { email: 'not an address', name: 'x'.repeat(201) });
    expect(bad.status).toBe(400);
    expect(bad.text).toContain('aria-invalid="true"');
    expect(bad.text).toContain('The name must be at most 200 characters.');
    expect(await userRow(buyer.id)).toEqual(before);
    expect(await audit('user.updated')).toHaveLength(1);

    expect((await post(admin, '/users/999999/details', { email: 'x@y.test', name: '' })).status).toBe(404);
    const support = await loginAs(t, 'support');
    expect((await post(support, `/users/${buyer.id}/details`, { email: 'x@y.test', name: '' })).status).toBe(403);
    expect(await userRow(buyer.id)).toEqual(before);
    // One's own name and address too: nothing in it can lock anyone out.
    expect((await post(admin, `/users/${admin.user.id}/details`, { email: 'boss@vendor.test', name: 'Boss' })).status).toBe(303);
    expect(await canLogin('boss@vendor.test', TEST_PASSWORD)).toBe(true);
  });

  it('lists every user with name, role, client and status', async () => {
    const clientId = await makeClient(t, 'Acme & Sons');
    const client = await makeUser(t, 'client', { email: 'buyer@acme.test', clientId });
    const support = await makeUser(t, 'support', { email: 'helper@vendor.test' });
    await t.db.updateTable('users').set({ disabled_at: t.clock.now(), name: 'Helen <Helper>' }).where('id', '=', support.id).execute();
    const res = await t.request.get('/users').set('Cookie', admin.cookie);
    expect(res.status).toBe(200);
    for (const text of [admin.user.email, client.email, support.email, 'Acme &amp; Sons', 'Helen &lt;Helper&gt;', 'Client user', 'Support', 'Administrator', 'Disabled']) {
      expect(res.text).toContain(text);
    }
    expect(res.text).not.toContain('Helen <Helper>');
    // Disabling asks first; the admin cannot disable themselves from the list.
    expect(res.text).toContain(`action="/users/${client.id}/disable"`);
    expect(res.text).toContain(`data-confirm="Disable ${client.email}?`);
    expect(res.text).toContain(`action="/users/${support.id}/enable"`);
    expect(res.text).not.toContain(`action="/users/${admin.user.id}/disable"`);
  });

  it('creates a staff user who can then sign in; audited', async () => {
    const res = await post(admin, '/users', { email: ' New.Person@Vendor.test ', name: 'New Person', role: 'support', clientId: '', password: NEW_PASSWORD, confirm: NEW_PASSWORD });
    expect(res.status).toBe(303);
    const created = await userByEmail('new.person@vendor.test');
    expect(created).toMatchObject({ name: 'New Person', role: 'support', client_id: null, disabled_at: null });
    expect(created!.password_hash).toMatch(/^\$argon2id\$/);
    expect(res.headers.location).toBe(`/users?done=created&id=${created!.id}`);
    const page = await t.request.get(res.headers.location).set('Cookie', admin.cookie);
    expect(page.text).toContain('User new.person@vendor.test created.');
    expect(await canLogin('new.person@vendor.test', NEW_PASSWORD)).toBe(true);
    const rows = await audit('user.created');
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ actor_type: 'user', actor_id: admin.user.id, target_type: 'user', target_id: String(created!.id), target_label: 'new.person@vendor.test' });
    expect(JSON.parse(rows[0].details!)).toEqual({ role: 'support' });
  });

  it('creates a client user attached to the chosen client', async () => {
    const clientId = await makeClient(t, 'Globex');
    const form = await t.request.get('/users').set('Cookie', admin.cookie);
    expect(form.text).toContain(`<option value="${clientId}">Globex</option>`);
    const res = await post(admin, '/users', { email: 'ops@globex.test', name: '', role: 'client', clientId: String(clientId), password: NEW_PASSWORD, confirm: NEW_PASSWORD });
    expect(res.status).toBe(303);
    expect(await userByEmail('ops@globex.test')).toMatchObject({ role: 'client', client_id: clientId, name: null });
    const rows = await audit('user.created');
    expect(rows[0].client_id).toBe(clientId);
  });

  it('refuses bad input with a clear message, keeps what was typed and creates nothing', async () => {
    const clientId = await makeClient(t);
    const base = { email: 'someone@vendor.test', name: 'Some One', role: 'support', clientId: '', password: NEW_PASSWORD, confirm: NEW_PASSWORD };
    // Each refusal is said in the banner and beside its field (the form is far below the banner).
    const cases: [Record<string, string>, number, string, string][] = [
      [{ email: 'not-an-email' }, 400, 'Enter a valid e-mail address.', 'f-email'],
      [{ password: 'short', confirm: 'short' }, 400, 'The password must be at least 10 characters long.', 'f-password'],
      [{ confirm: 'a different passphrase' }, 400, 'The two passwords differ.', 'f-confirm'],
      [{ role: 'root' }, 400, 'Choose a role.', 'f-role'],
      [{ role: 'client' }, 400, 'Choose the client this user belongs to.', 'f-clientId'],
      [{ role: 'admin', clientId: String(clientId) }, 400, 'Only client users belong to a client: leave the client empty for staff.', 'f-clientId'],
      [{ role: 'client', clientId: '99999' }, 400, 'That client does not exist.', 'f-clientId'],
      [{ email: admin.user.email.toUpperCase() }, 409, 'A user with this e-mail already exists.', 'f-email'],
    ];
    const fieldError = (html: string, id: string) =>
      new RegExp(`<div class="field invalid"><label for="${id}">[^<]*</label>[\\s\\S]*?<p class="field-error"[^>]*>([^<]*)</p>`).exec(html)?.[1];
    for (const [change, status, message, field] of cases) {
      const res = await post(admin, '/users', { ...base, ...change });
      expect(res.status, JSON.stringify(change)).toBe(status);
      expect(alertText(res.text)).toBe(message);
      expect(fieldError(res.text, field), JSON.stringify(change)).toBe(message);
      expect(res.text).toContain('value="Some One"');
    }
    // Several problems at once: each beside its own field.
    const many = await post(admin, '/users', { ...base, email: 'nope', password: 'short', confirm: 'other' });
    expect([fieldError(many.text, 'f-email'), fieldError(many.text, 'f-password')]).toEqual(['Enter a valid e-mail address.', 'The password must be at least 10 characters long.']);
    expect(many.text).toContain('aria-invalid="true" aria-describedby="f-email-error"');
    expect(await t.db.selectFrom('users').select('id').execute()).toHaveLength(1);
    expect(await audit('user.created')).toHaveLength(0);
  });

  it('disables a user (ending their sign-ins) and enables them again; both audited', async () => {
    const target = await makeUser(t, 'support');
    const theirs = await login(t, target.email);
    const res = await post(admin, `/users/${target.id}/disable`, { from: 'list' });
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe(`/users?done=disabled&id=${target.id}`);
    expect((await userRow(target.id)).disabled_at).toBe(t.clock.now());
    expect(await sessionsOf(target.id)).toHaveLength(0);
    expect((await t.request.get('/account').set('Cookie', theirs.cookie)).status).toBe(303);
    expect(await canLogin(target.email, TEST_PASSWORD)).toBe(false);
    expect((await t.request.get(res.headers.location).set('Cookie', admin.cookie)).text).toContain(`User ${target.email} disabled`);

    const back = await post(admin, `/users/${target.id}/enable`);
    expect(back.status).toBe(303);
    expect(back.headers.location).toBe(`/users/${target.id}?done=enabled`);
    expect((await userRow(target.id)).disabled_at).toBeNull();
    expect(await canLogin(target.email, TEST_PASSWORD)).toBe(true);

    expect((await audit('user.disabled')).map((r) => [r.actor_id, r.target_id])).toEqual([[admin.user.id, String(target.id)]]);
    expect((await audit('user.enabled')).map((r) => [r.actor_id, r.target_id])).toEqual([[admin.user.id, String(target.id)]]);
  });

  it('disabling a user revokes the API tokens they created, at once; others\' tokens keep working', async () => {
    const leaving = await makeUser(t, 'admin');
    const theirs = newToken('smt_');
    const ours = newToken('smt_');
    await createApiToken(t.db, { name: 'their export', tokenHash: hashToken(theirs), role: 'admin', createdBy: leaving.id }, t.clock.now());
    await createApiToken(t.db, { name: 'our export', tokenHash: hashToken(ours), role: 'admin', createdBy: admin.user.id }, t.clock.now());
    const settings = (token: string) => t.request.get('/api/v1/admin/settings').set('Authorization', `Bearer ${token}`);
    expect((await settings(theirs)).status).toBe(200);
    expect((await post(admin, `/users/${leaving.id}/disable`)).status).toBe(303);
    expect((await settings(theirs)).status).toBe(401);
    expect((await settings(ours)).status).toBe(200);
    expect((await audit('token.revoked')).map((r) => [r.target_label, r.details])).toEqual([['their export', '{"reason":"creator disabled"}']]);
    // Enabling the user again does not bring the token back.
    await post(admin, `/users/${leaving.id}/enable`);
    expect((await settings(theirs)).status).toBe(401);
  });

  it('resets a password: the new one works, the old one and every sign-in of the user end', async () => {
    const target = await makeUser(t, 'client');
    const theirs = await login(t, target.email);
    const res = await post(admin, `/users/${target.id}/password`, { password: NEW_PASSWORD, confirm: NEW_PASSWORD });
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe(`/users/${target.id}?done=password`);
    expect(await sessionsOf(target.id)).toHaveLength(0);
    expect((await t.request.get('/account').set('Cookie', theirs.cookie)).status).toBe(303);
    expect(await canLogin(target.email, TEST_PASSWORD)).toBe(false);
    expect(await canLogin(target.email, NEW_PASSWORD)).toBe(true);
    expect((await t.request.get('/users').set('Cookie', admin.cookie)).status).toBe(200);
    const rows = await audit('user.password_reset');
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ actor_id: admin.user.id, target_id: String(target.id), client_id: target.client_id });

    const short = await post(admin, `/users/${target.id}/password`, { password: 'short', confirm: 'short' });
    expect(short.status).toBe(400);
    expect(alertText(short.text)).toBe('The password must be at least 10 characters long.');
    expect(await canLogin(target.email, NEW_PASSWORD)).toBe(true);
    expect(await audit('user.password_reset')).toHaveLength(1);
  });

  it('a reset lifts the lock that failed sign-ins put on the account', async () => {
    const target = await makeUser(t, 'support');
    for (let i = 0; i < 5; i++) await t.request.post('/login').type('form').send({ email: target.email, password: 'wrong guess ' + i });
    const locked = await t.request.post('/login').type('form').send({ email: target.email, password: TEST_PASSWORD });
    expect(locked.status).toBe(429);
    expect((await post(admin, `/users/${target.id}/password`, { password: NEW_PASSWORD, confirm: NEW_PASSWORD })).status).toBe(303);
    expect(await canLogin(target.email, NEW_PASSWORD)).toBe(true);
  });

  it('one\'s own password is not set here (the account page asks for the current one): 409, nothing changed', async () => {
    const before = await userRow(admin.user.id);
    const res = await post(admin, `/users/${admin.user.id}/password`, { password: NEW_PASSWORD, confirm: NEW_PASSWORD });
    expect(res.status).toBe(409);
    expect(alertText(res.text)).toBe('You cannot disable your own account, change your own role or set your own password here (the Account page asks for the current one).');
    expect((await userRow(admin.user.id)).password_hash).toBe(before.password_hash);
    expect(await canLogin(admin.user.email, NEW_PASSWORD)).toBe(false);
    expect(await audit('user.password_reset')).toHaveLength(0);
  });

  it('made support, a user loses the admin API tokens they created (audited); their support tokens stay', async () => {
    const other = await makeUser(t, 'admin');
    const adminTok = await createApiToken(t.db, { name: 'billing', tokenHash: 'a'.repeat(64), role: 'admin', createdBy: other.id }, t.clock.now());
    const supportTok = await createApiToken(t.db, { name: 'scripts', tokenHash: 'b'.repeat(64), role: 'support', createdBy: other.id }, t.clock.now());
    const mine = await createApiToken(t.db, { name: 'mine', tokenHash: 'c'.repeat(64), role: 'admin', createdBy: admin.user.id }, t.clock.now());
    expect((await post(admin, `/users/${other.id}/role`, { role: 'support' })).status).toBe(303);
    const revoked = async (id: number) => (await t.db.selectFrom('api_tokens').select('revoked_at').where('id', '=', id).executeTakeFirstOrThrow()).revoked_at;
    expect(await revoked(adminTok.id)).toBe(t.clock.now());
    expect(await revoked(supportTok.id)).toBeNull();
    expect(await revoked(mine.id)).toBeNull();
    expect((await audit('token.revoked')).map((a) => [a.target_id, JSON.parse(a.details!).reason])).toEqual([[String(adminTok.id), 'creator no longer admin']]);
    // Made admin again, nothing comes back by itself.
    expect((await post(admin, `/users/${other.id}/role`, { role: 'admin' })).status).toBe(303);
    expect(await revoked(adminTok.id)).toBe(t.clock.now());
  });

  it('changes a role between admin and support; audited with both roles', async () => {
    const target = await makeUser(t, 'support');
    const theirs = await login(t, target.email);
    expect((await t.request.get('/users').set('Cookie', theirs.cookie)).status).toBe(403);
    const up = await post(admin, `/users/${target.id}/role`, { role: 'admin' });
    expect(up.status).toBe(303);
    expect((await userRow(target.id)).role).toBe('admin');
    expect((await t.request.get('/users').set('Cookie', theirs.cookie)).status).toBe(200);
    const page = await t.request.get(up.headers.location).set('Cookie', admin.cookie);
    expect(page.text).toContain(`Role of ${target.email} changed to Administrator.`);

    const down = await post(admin, `/users/${target.id}/role`, { role: 'support' });
    expect(down.status).toBe(303);
    expect((await userRow(target.id)).role).toBe('support');
    const rows = await audit('user.role_changed');
    expect(rows.map((r) => JSON.parse(r.details!))).toEqual([
      { from: 'support', to: 'admin' },
      { from: 'admin', to: 'support' },
    ]);
  });

  it('refuses role changes of client users and unknown roles', async () => {
    const client = await makeUser(t, 'client');
    const support = await makeUser(t, 'support');
    const a = await post(admin, `/users/${client.id}/role`, { role: 'admin' });
    expect(a.status).toBe(400);
    expect(alertText(a.text)).toBe('A client user keeps the client role.');
    const b = await post(admin, `/users/${support.id}/role`, { role: 'client' });
    expect(b.status).toBe(400);
    expect(alertText(b.text)).toBe('Choose a role.');
    expect((await userRow(client.id)).role).toBe('client');
    expect((await userRow(support.id)).role).toBe('support');
    expect(await audit('user.role_changed')).toHaveLength(0);
  });

  it('an admin cannot disable or demote themselves', async () => {
    await makeUser(t, 'admin'); // another admin exists, so this is about self, not the last admin
    const disable = await post(admin, `/users/${admin.user.id}/disable`);
    expect(disable.status).toBe(409);
    expect(alertText(disable.text)).toBe('You cannot disable your own account, change your own role or set your own password here (the Account page asks for the current one).');
    const demote = await post(admin, `/users/${admin.user.id}/role`, { role: 'support' });
    expect(demote.status).toBe(409);
    expect(await userRow(admin.user.id)).toMatchObject({ role: 'admin', disabled_at: null });
    expect((await t.request.get('/users').set('Cookie', admin.cookie)).status).toBe(200);
  });

  it('the last active admin can be neither disabled nor demoted', async () => {
    const other = await makeUser(t, 'admin');
    // Two admins: one may go.
    expect((await post(admin, `/users/${other.id}/role`, { role: 'support' })).status).toBe(303);
    // Now admin.user is the last active admin. Another actor (an admin API token, the CLI)
    // trying to disable or demote them is refused, inside the same transaction as the write.
    const token = { type: 'token' as const, id: 1, name: 'automation', role: 'admin' as const, clientId: null, ip: null };
    await expect(disableUser(t.db, token, admin.user.id, t.clock.now())).rejects.toMatchObject({ code: 'last_admin' });
    await expect(changeUserRole(t.db, token, admin.user.id, 'support', t.clock.now())).rejects.toBeInstanceOf(AppError);
    expect(await userRow(admin.user.id)).toMatchObject({ role: 'admin', disabled_at: null });
    // A disabled admin does not count as active: disabling the other active one is refused too.
    await t.db.updateTable('users').set({ role: 'admin', disabled_at: t.clock.now() }).where('id', '=', other.id).execute();
    await expect(disableUser(t.db, token, admin.user.id, t.clock.now())).rejects.toMatchObject({ code: 'last_admin' });
    // With a second active admin it works.
    await t.db.updateTable('users').set({ disabled_at: null }).where('id', '=', other.id).execute();
    await disableUser(t.db, token, admin.user.id, t.clock.now());
    expect((await userRow(admin.user.id)).disabled_at).not.toBeNull();
  });

  it('two clients of one name are told apart by number wherever a client is picked', async () => {
    const twinA = await makeClient(t, 'Twin LLC');
    const twinB = await makeClient(t, 'Twin LLC');
    const solo = await makeClient(t, 'Solo LLC');
    for (const url of ['/users', '/licenses/new', '/licenses', '/infobases']) {
      const html = (await t.request.get(url).set('Cookie', admin.cookie)).text;
      expect(html, url).toContain(`<option value="${twinA}">Twin LLC (#${twinA})</option>`);
      expect(html, url).toContain(`<option value="${twinB}">Twin LLC (#${twinB})</option>`);
      expect(html, url).toContain(`<option value="${solo}">Solo LLC</option>`);
    }
  });

  it('shows one user with the forms that apply, and 404 for an unknown one', async () => {
    const target = await makeUser(t, 'support');
    const page = await t.request.get(`/users/${target.id}`).set('Cookie', admin.cookie);
    expect(page.status).toBe(200);
    expect(page.text).toContain(target.email);
    expect(page.text).toContain(`action="/users/${target.id}/password"`);
    // New passwords: the browser refuses a short one at the field, before the form is sent.
    for (const url of [`/users/${target.id}`, '/users', '/account']) {
      const html = (await t.request.get(url).set('Cookie', admin.cookie)).text;
      const fields = [...html.matchAll(/<input [^>]*autocomplete="new-password"[^>]*>/g)].map((m) => m[0]);
      expect([url, fields.length]).toEqual([url, 2]);
      for (const f of fields) expect(f).toContain('minlength="10"');
    }
    expect(page.text).toContain(`action="/users/${target.id}/role"`);
    expect(page.text).toContain(`href="/audit?targetType=user&amp;targetId=${target.id}"`);
    const self = await t.request.get(`/users/${admin.user.id}`).set('Cookie', admin.cookie);
    expect(self.text).not.toContain(`action="/users/${admin.user.id}/role"`);
    expect(self.text).not.toContain(`action="/users/${admin.user.id}/disable"`);
    expect(self.text).not.toContain(`action="/users/${admin.user.id}/password"`);
    expect((await t.request.get('/users/99999').set('Cookie', admin.cookie)).status).toBe(404);
    expect((await t.request.get('/users/abc').set('Cookie', admin.cookie)).status).toBe(404);
    expect((await post(admin, '/users/99999/disable')).status).toBe(404);
    expect((await post(admin, '/users/99999/password', { password: NEW_PASSWORD, confirm: NEW_PASSWORD })).status).toBe(404);
  });

  it('support staff get 403 and change nothing', async () => {
    const support = await loginAs(t, 'support');
    const target = await makeUser(t, 'client');
    expect((await t.request.get('/users').set('Cookie', support.cookie)).status).toBe(403);
    expect((await t.request.get(`/users/${target.id}`).set('Cookie', support.cookie)).status).toBe(403);
    expect((await post(support, '/users', { email: 'x@y.test', role: 'admin', password: NEW_PASSWORD, confirm: NEW_PASSWORD })).status).toBe(403);
    expect((await post(support, `/users/${target.id}/disable`)).status).toBe(403);
    expect((await post(support, `/users/${support.user.id}/role`, { role: 'admin' })).status).toBe(403);
    expect((await post(support, `/users/${target.id}/password`, { password: NEW_PASSWORD, confirm: NEW_PASSWORD })).status).toBe(403);
    expect(await userRow(target.id)).toMatchObject({ disabled_at: null, password_hash: target.password_hash });
    expect((await userRow(support.user.id)).role).toBe('support');
    expect(await userByEmail('x@y.test')).toBeUndefined();
  });
});
