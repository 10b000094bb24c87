import { Hono } from 'hono';
import { CLIENT_FORM_FIELDS, ClientCardPage, ClientFormPage, ClientsPage, type ClientFormField, type ClientFormState } from '../../../views/clients/pages.js';
import { AppError, notFound } from '../../lib/errors.js';
import { field } from '../../lib/forms.js';
import type { AppContext, AppEnv } from '../../middleware/context.js';
import { pageCtx } from '../../middleware/render.js';
import { requireRole } from '../../middleware/web-auth.js';
import { clientById, createClient, listClients, updateClient, type Client } from '../../models/clients.js';
import { listInfobases } from '../../models/infobases.js';
import { listLicenses } from '../../models/licenses.js';
import { usersOfClient } from '../../models/users.js';
import { doneNotice } from './licenses.js';

/** Client pages (staff): list and card; admins create and edit. */
export const clientsRoutes = new Hono<AppEnv>();
clientsRoutes.use('/clients', requireRole('admin', 'support'));
clientsRoutes.use('/clients/*', requireRole('admin', 'support'));
const adminOnly = requireRole('admin');

const ID = '{[0-9]{1,15}}';
const now = (c: AppContext) => c.var.deps.clock.now();
const isAdmin = (c: AppContext) => c.var.viewer!.user.role === 'admin';
/** How many licenses and infobases a card lists (a client with more is paged in the lists). */
const CARD_LIMIT = 200;

clientsRoutes.get('/clients', async (c) => {
  const q = (c.req.query('q') ?? '').trim().slice(0, 200);
  const cursor = (c.req.query('cursor') ?? '').slice(0, 1000);
  const props = { ctx: pageCtx(c), q, cursor, canCreate: isAdmin(c) };
  try {
    const page = await listClients(c.var.deps.db, { q }, { limit: 50, cursor: cursor || null });
    return c.html(<ClientsPage {...props} clients={page.items} nextCursor={page.nextCursor} />);
  } catch (e) {
    if (!(e instanceof AppError) || e.code !== 'invalid_request') throw e;
    return c.html(<ClientsPage {...props} cursor="" clients={[]} nextCursor={null} error={c.var.t('licenses.bad_cursor')} />, 400);
  }
});

const emptyForm = (): ClientFormState => ({ values: Object.fromEntries(CLIENT_FORM_FIELDS.map((f) => [f, ''])) as ClientFormState['values'], errors: {} });

function formValues(body: Record<string, unknown>): ClientFormState['values'] {
  return Object.fromEntries(CLIENT_FORM_FIELDS.map((f) => [f, field(body, f).slice(0, f === 'notes' ? 4100 : 300)])) as ClientFormState['values'];
}

/** The model's field problems as the form's messages. */
function modelErrors(c: AppContext, e: unknown): ClientFormState['errors'] {
  if (!(e instanceof AppError) || e.code !== 'invalid_request') throw e;
  const errors: ClientFormState['errors'] = {};
  for (const key of Object.keys((e.details.fields ?? {}) as Record<string, string>)) {
    if ((CLIENT_FORM_FIELDS as readonly string[]).includes(key)) errors[key as ClientFormField] = c.var.t(`clients.form.error.${key}`);
  }
  return errors;
}

clientsRoutes.get('/clients/new', adminOnly, (c) =>
  c.html(<ClientFormPage ctx={pageCtx(c)} mode="create" action="/clients" cancel="/clients" form={emptyForm()} />),
);

clientsRoutes.post('/clients', adminOnly, async (c) => {
  const values = formValues(await c.req.parseBody());
  try {
    const client = await createClient(c.var.deps.db, c.var.viewer!.actor, values, now(c));
    return c.redirect(`/clients/${client.id}?done=created`, 303);
  } catch (e) {
    return c.html(<ClientFormPage ctx={pageCtx(c)} mode="create" action="/clients" cancel="/clients" form={{ values, errors: modelErrors(c, e) }} />, 400);
  }
});

async function clientOr404(c: AppContext): Promise<Client> {
  const client = await clientById(c.var.deps.db, Number(c.req.param('id')));
  if (!client) throw notFound();
  return client;
}

const DONE = new Set(['created', 'updated']);

clientsRoutes.get(`/clients/:id${ID}`, async (c) => {
  const client = await clientOr404(c);
  const { db } = c.var.deps;
  const [licenses, infobases, users] = await Promise.all([
    listLicenses(db, { clientId: client.id }, { limit: CARD_LIMIT }, now(c)),
    listInfobases(db, { clientId: client.id }, { limit: CARD_LIMIT }, now(c)),
    usersOfClient(db, client.id),
  ]);
  return c.html(
    <ClientCardPage
      ctx={pageCtx(c)}
      client={client}
      licenses={licenses.items}
      infobases={infobases.items}
      users={users}
      now={now(c)}
      isAdmin={isAdmin(c)}
      notice={doneNotice(c, 'clients', DONE)}
    />,
  );
});

clientsRoutes.get(`/clients/:id${ID}/edit`, adminOnly, async (c) => {
  const cl = await clientOr404(c);
  const form = emptyForm();
  form.values = { name: cl.name, contactPerson: cl.contactPerson ?? '', email: cl.email ?? '', phone: cl.phone ?? '', notes: cl.notes ?? '' };
  return c.html(<ClientFormPage ctx={pageCtx(c)} mode="edit" action={`/clients/${cl.id}`} cancel={`/clients/${cl.id}`} form={form} />);
});

clientsRoutes.post(`/clients/:id${ID}`, adminOnly, async (c) => {
  const cl = await clientOr404(c);
  const values = formValues(await c.req.parseBody());
  try {
    await updateClient(c.var.deps.db, c.var.viewer!.actor, cl.id, values, now(c));
  } catch (e) {
    return c.html(
      <ClientFormPage ctx={pageCtx(c)} mode="edit" action={`/clients/${cl.id}`} cancel={`/clients/${cl.id}`} form={{ values, errors: modelErrors(c, e) }} />,
      400,
    );
  }
  return c.redirect(`/clients/${cl.id}?done=updated`, 303);
});
