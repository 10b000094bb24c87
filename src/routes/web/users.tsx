import { Hono } from 'hono';
import { UserPage, UsersPage, type NewUserErrors, type NewUserForm, type UserDetailsErrors, type UserDetailsForm } from '../../../views/admin/users.js';
import type { AppContext, AppEnv } from '../../middleware/context.js';
import { pageCtx } from '../../middleware/render.js';
import { requireRole } from '../../middleware/web-auth.js';
import { AppError, notFound } from '../../lib/errors.js';
import { field } from '../../lib/forms.js';
import { MIN_PASSWORD_LENGTH, PasswordHasherBusy } from '../../lib/passwords.js';
import { passwordProblem } from '../../models/auth.js';
import { clientById } from '../../models/clients.js';
import {
  changeUserRole,
  clientChoices,
  createUserAs,
  disableUser,
  enableUser,
  isEmail,
  listUsers,
  resetUserPassword,
  ROLES,
  updateUserDetails,
  userWithClient,
} from '../../models/users.js';
import type { Role } from '../../db/schema.js';

/** Users page (admins only): list, create, change name and e-mail, disable/enable, reset password, change role. */
export const usersRoutes = new Hono<AppEnv>();
usersRoutes.use('/users', requireRole('admin'));
usersRoutes.use('/users/*', requireRole('admin'));

type Msg = { error?: string | null; notice?: string | null };
type Status = 200 | 400 | 404 | 409 | 503;

// Domain refusals a form shows as a message; anything else goes to the error page.
const FORM_ERRORS = new Set(['email_taken', 'client_required', 'client_not_allowed', 'client_not_found', 'last_admin', 'self_change', 'role_change_client']);

function formError(c: AppContext, e: unknown): { message: string; status: Status } {
  if (e instanceof AppError && FORM_ERRORS.has(e.code)) return { message: c.var.t(`admin.users.error.${e.code}`), status: e.status === 409 ? 409 : 400 };
  if (e instanceof PasswordHasherBusy) {
    c.header('Retry-After', '5');
    return { message: c.var.t('auth.login.busy'), status: 503 };
  }
  throw e;
}

// What a page says after a change (the ?done= of the redirect), keyed by that value.
const USER_NOTICES: Record<string, string> = {
  created: 'admin.users.created',
  password: 'admin.users.password_reset_done',
  role: 'admin.users.role_changed',
  disabled: 'admin.users.disabled_done',
  enabled: 'admin.users.enabled_done',
  updated: 'admin.users.updated',
};

async function listPage(
  c: AppContext,
  status: Status,
  msg: Msg & { form?: NewUserForm; fieldErrors?: NewUserErrors; doneFor?: { key: string; id: number }; client?: { id: number; name: string } } = {},
) {
  const { db } = c.var.deps;
  const [all, clients] = await Promise.all([listUsers(db), clientChoices(db)]);
  const users = msg.client ? all.filter((u) => u.client_id === msg.client!.id) : all;
  const done = msg.doneFor && users.find((u) => u.id === msg.doneFor!.id);
  const notice = done ? c.var.t(msg.doneFor!.key, { email: done.email }) : msg.notice;
  return c.html(
    <UsersPage
      ctx={pageCtx(c)}
      users={users}
      clients={clients}
      selfId={c.var.viewer!.user.id}
      form={msg.form}
      fieldErrors={msg.fieldErrors}
      error={msg.error}
      notice={notice}
      client={msg.client}
      minPassword={MIN_PASSWORD_LENGTH}
    />,
    status,
  );
}

async function userPage(c: AppContext, id: number, status: Status, msg: Msg & { details?: UserDetailsForm; detailErrors?: UserDetailsErrors } = {}) {
  const user = await userWithClient(c.var.deps.db, id);
  if (!user) throw new AppError('not_found', 404);
  const t = c.var.t;
  const done = c.req.method === 'GET' ? USER_NOTICES[c.req.query('done') ?? ''] : undefined;
  const notice = msg.notice ?? (done ? t(done, { email: user.email, role: t(`role.${user.role}`) }) : null);
  return c.html(
    <UserPage
      ctx={pageCtx(c)}
      user={user}
      isSelf={user.id === c.var.viewer!.user.id}
      error={msg.error}
      notice={notice}
      minPassword={MIN_PASSWORD_LENGTH}
      details={msg.details}
      detailErrors={msg.detailErrors}
    />,
    status,
  );
}

usersRoutes.get('/users', async (c) => {
  const done = c.req.query('done') ?? '';
  // The list only reports what its own forms do.
  const key = ['created', 'disabled', 'enabled'].includes(done) ? USER_NOTICES[done] : undefined;
  const id = Number(c.req.query('id'));
  // From a client card: that client's users, and the new-user form set for one more of them.
  const clientParam = c.req.query('client');
  let client: { id: number; name: string } | undefined;
  if (clientParam !== undefined) {
    const found = /^[1-9]\d{0,14}$/.test(clientParam) ? await clientById(c.var.deps.db, Number(clientParam)) : undefined;
    client = found && { id: found.id, name: found.name };
    if (!client) throw notFound();
  }
  const form = client ? { email: '', name: '', role: 'client', clientId: String(client.id) } : undefined;
  return listPage(c, 200, { ...(key && Number.isSafeInteger(id) ? { doneFor: { key, id } } : {}), client, form });
});

usersRoutes.post('/users', async (c) => {
  const body = await c.req.parseBody();
  const form: NewUserForm = { email: field(body, 'email'), name: field(body, 'name'), role: field(body, 'role'), clientId: field(body, 'clientId') };
  const password = typeof body.password === 'string' ? body.password : '';
  const confirm = typeof body.confirm === 'string' ? body.confirm : '';
  const t = c.var.t;
  // Every field's problem at once, each said beside its field; the banner says the first.
  const errors: NewUserErrors = {};
  if (!isEmail(form.email)) errors.email = t('auth.email.invalid');
  if ([...form.name].length > 200) errors.name = t('admin.users.error.name_too_long');
  if (!(ROLES as readonly string[]).includes(form.role)) errors.role = t('admin.users.error.role_invalid');
  if (form.clientId !== '' && !/^\d{1,15}$/.test(form.clientId)) errors.clientId = t('admin.users.error.client_not_found');
  const short = passwordProblem(t, password, password);
  if (short) errors.password = short;
  else if (password !== confirm) errors.confirm = t('auth.password.mismatch');
  const first = Object.values(errors)[0];
  if (first) return listPage(c, 400, { form, fieldErrors: errors, error: first });
  const { db, hasher, clock } = c.var.deps;
  try {
    const role = form.role as Role;
    const user = await createUserAs(
      db,
      c.var.viewer!.actor,
      { email: form.email, name: form.name, role, clientId: form.clientId ? Number(form.clientId) : null, passwordHash: await hasher.hash(password) },
      clock.now(),
    );
    return c.redirect(`/users?done=created&id=${user.id}`, 303);
  } catch (e) {
    const { message, status } = formError(c, e);
    const field = e instanceof AppError ? (e.code === 'email_taken' ? 'email' : e.code.startsWith('client_') ? 'clientId' : null) : null;
    return listPage(c, status, { form, fieldErrors: field ? { [field]: message } : undefined, error: message });
  }
});

usersRoutes.get('/users/:id{[0-9]{1,15}}', (c) => userPage(c, Number(c.req.param('id')), 200));

/** Disable or enable: back to the list or the user's page, whichever the form came from. */
for (const [verb, change] of [
  ['disable', disableUser],
  ['enable', enableUser],
] as const) {
  usersRoutes.post(`/users/:id{[0-9]{1,15}}/${verb}`, async (c) => {
    const id = Number(c.req.param('id'));
    const fromList = field(await c.req.parseBody(), 'from') === 'list';
    const { db, clock } = c.var.deps;
    try {
      await change(db, c.var.viewer!.actor, id, clock.now());
    } catch (e) {
      const { message, status } = formError(c, e);
      return fromList ? listPage(c, status, { error: message }) : userPage(c, id, status, { error: message });
    }
    const done = verb === 'disable' ? 'disabled' : 'enabled';
    return c.redirect(fromList ? `/users?done=${done}&id=${id}` : `/users/${id}?done=${done}`, 303);
  });
}

usersRoutes.post('/users/:id{[0-9]{1,15}}/password', async (c) => {
  const id = Number(c.req.param('id'));
  const body = await c.req.parseBody();
  const password = typeof body.password === 'string' ? body.password : '';
  const confirm = typeof body.confirm === 'string' ? body.confirm : '';
  const problem = passwordProblem(c.var.t, password, confirm);
  if (problem) return userPage(c, id, 400, { error: problem });
  const { db, hasher, clock } = c.var.deps;
  const viewer = c.var.viewer!;
  try {
    const user = await resetUserPassword(db, viewer.actor, id, await hasher.hash(password), clock.now());
    // An admin who sets a new password vouches for the account: failed sign-ins counted against it no longer lock it.
    c.var.deps.limits.loginPerAccount.clear(user.email);
  } catch (e) {
    const { message, status } = formError(c, e);
    return userPage(c, id, status, { error: message });
  }
  return c.redirect(`/users/${id}?done=password`, 303);
});

usersRoutes.post('/users/:id{[0-9]{1,15}}/details', async (c) => {
  const id = Number(c.req.param('id'));
  const body = await c.req.parseBody();
  const form: UserDetailsForm = { email: field(body, 'email'), name: field(body, 'name') };
  const t = c.var.t;
  // Both fields' problems at once, each beside its field; what was typed stays in the form.
  const errors: UserDetailsErrors = {};
  if (!isEmail(form.email.trim())) errors.email = t('auth.email.invalid');
  if ([...form.name].length > 200) errors.name = t('admin.users.error.name_too_long');
  const first = Object.values(errors)[0];
  if (first) return userPage(c, id, 400, { error: first, details: form, detailErrors: errors });
  try {
    await updateUserDetails(c.var.deps.db, c.var.viewer!.actor, id, { email: form.email, name: form.name }, c.var.deps.clock.now());
  } catch (e) {
    const { message, status } = formError(c, e);
    return userPage(c, id, status, { error: message, details: form, detailErrors: e instanceof AppError && e.code === 'email_taken' ? { email: message } : undefined });
  }
  return c.redirect(`/users/${id}?done=updated`, 303);
});

usersRoutes.post('/users/:id{[0-9]{1,15}}/role', async (c) => {
  const id = Number(c.req.param('id'));
  const role = field(await c.req.parseBody(), 'role');
  if (role !== 'admin' && role !== 'support') return userPage(c, id, 400, { error: c.var.t('admin.users.error.role_invalid') });
  try {
    await changeUserRole(c.var.deps.db, c.var.viewer!.actor, id, role, c.var.deps.clock.now());
  } catch (e) {
    const { message, status } = formError(c, e);
    return userPage(c, id, status, { error: message });
  }
  return c.redirect(`/users/${id}?done=role`, 303);
});
