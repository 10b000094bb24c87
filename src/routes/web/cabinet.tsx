import { Hono } from 'hono';
import { CabinetHistoryPage, CabinetHome, CabinetLicensePage } from '../../../views/cabinet/pages.js';
import { AppError, notFound } from '../../lib/errors.js';
import { field, typedText } from '../../lib/forms.js';
import type { AppContext, AppEnv } from '../../middleware/context.js';
import { pageCtx } from '../../middleware/render.js';
import { requireRole } from '../../middleware/web-auth.js';
import { clientHosts, nextSelfResetAt, selfServiceResetBinding } from '../../models/cabinet.js';
import { clientById } from '../../models/clients.js';
import { infobaseById, listInfobases, setLock, type Infobase } from '../../models/infobases.js';
import { hostById, licenseById, listLicenses, selfResetStatus, type License } from '../../models/licenses.js';
import { supportContact } from '../../models/settings.js';
import { terminateSession } from '../../models/session-actions.js';
import { sessionBriefs, type SessionBrief } from '../../models/session-briefs.js';
import { lockModelErrors, parseLockForm, renderInfobasePage, unlockAsConfirmed } from './infobases.js';
import { doneNotice, loadHistory } from './licenses.js';

/**
 * The client cabinet: a client user's own licenses, bound hosts, sessions,
 * history and infobases. Every lookup is confined to the viewer's client, so
 * another client's ids are simply not found (404).
 */
export const cabinetRoutes = new Hono<AppEnv>();
cabinetRoutes.use('/cabinet', requireRole('client'));
cabinetRoutes.use('/cabinet/*', requireRole('client'));

const ID = '{[0-9]{1,15}}';
const LIMIT = 200;
const now = (c: AppContext) => c.var.deps.clock.now();
const actor = (c: AppContext) => c.var.viewer!.actor;
/** The viewer's client: requireRole('client') guarantees one. */
const scope = (c: AppContext) => c.var.viewer!.user.client_id!;

const DONE = new Set(['reset', 'terminated', 'already_closed']);

cabinetRoutes.get('/cabinet', async (c) => {
  const { db } = c.var.deps;
  const at = now(c);
  const clientId = scope(c);
  const [client, licenses, infobases, sessions, contact] = await Promise.all([
    clientById(db, clientId, clientId),
    listLicenses(db, { scopeClientId: clientId }, { limit: LIMIT }, at),
    listInfobases(db, { scopeClientId: clientId }, { limit: LIMIT }, at),
    sessionBriefs(db, { scopeClientId: clientId }, 100, at),
    supportContact(db),
  ]);
  const withQuota = await Promise.all(licenses.items.map(async (l) => ({ ...l, quota: await selfResetStatus(db, l, at) })));
  return c.html(
    <CabinetHome
      ctx={pageCtx(c)}
      clientName={client?.name ?? ''}
      licenses={withQuota}
      infobases={infobases.items}
      sessions={sessions}
      now={at}
      notice={doneNotice(c, 'cabinet', DONE)}
      supportContact={contact}
    />,
  );
});

async function licenseOr404(c: AppContext): Promise<License> {
  const license = await licenseById(c.var.deps.db, Number(c.req.param('id')), scope(c));
  if (!license) throw notFound();
  return license;
}

async function licensePage(c: AppContext, license: License, status: 200 | 400 | 409 = 200, error: string | null = null) {
  const { db } = c.var.deps;
  const at = now(c);
  const [hosts, quota, sessions, contact] = await Promise.all([
    clientHosts(db, license.id),
    selfResetStatus(db, license, at),
    sessionBriefs(db, { licenseId: license.id, scopeClientId: scope(c) }, 100, at),
    supportContact(db),
  ]);
  const nextResetAt = quota.remaining === 0 ? await nextSelfResetAt(db, license.id, quota.quota, at) : null;
  return c.html(
    <CabinetLicensePage
      ctx={pageCtx(c)}
      license={license}
      hosts={hosts}
      quota={quota}
      nextResetAt={nextResetAt}
      supportContact={contact}
      sessions={sessions}
      now={at}
      notice={error ? null : doneNotice(c, 'cabinet', DONE)}
      error={error}
    />,
    status,
  );
}

cabinetRoutes.get(`/cabinet/licenses/:id${ID}`, async (c) => licensePage(c, await licenseOr404(c)));

cabinetRoutes.get(`/cabinet/licenses/:id${ID}/history`, async (c) => {
  const license = await licenseOr404(c);
  const data = await loadHistory(c, license);
  return c.html(<CabinetHistoryPage ctx={pageCtx(c)} license={license} data={data} now={now(c)} />);
});

/** Self-service reset: a reason is required and the license's 30-day quota must not be spent (checked in the reset's transaction). */
cabinetRoutes.post(`/cabinet/licenses/:id${ID}/hosts/:hostId${ID}/reset`, async (c) => {
  const license = await licenseOr404(c);
  const { db } = c.var.deps;
  const host = await hostById(db, Number(c.req.param('hostId')));
  if (!host || host.license_id !== license.id || host.reset_at !== null) throw notFound();
  const reason = typedText(await c.req.parseBody(), 'reason');
  if (!reason) return licensePage(c, license, 400, c.var.t('licenses.hosts.reason_required'));
  try {
    const r = await selfServiceResetBinding(db, actor(c), host.id, reason, now(c));
    return c.redirect(`/cabinet/licenses/${license.id}?done=reset&n=${r.closedSessions}#hosts`, 303);
  } catch (e) {
    if (e instanceof AppError && e.code === 'self_reset_quota_spent') {
      return licensePage(c, license, 409, c.var.t('cabinet.quota.refused', { key: license.key }));
    }
    throw e;
  }
});

/** A client user terminates one of their own client's sessions (the model answers 404 for anyone else's). */
cabinetRoutes.post('/cabinet/sessions/:sid/terminate', async (c) => {
  const sid = c.req.param('sid');
  if (sid.length > 64) throw notFound();
  const back = field(await c.req.parseBody(), 'back');
  const closed = await terminateSession(c.var.deps.db, actor(c), sid, null, now(c));
  // Only back to a cabinet page; the notice key is the page's own.
  const m = /^\/cabinet(?:\/(licenses|infobases)\/\d{1,15})?$/.exec(back);
  const to = m ? back : '/cabinet';
  return c.redirect(`${to}?done=${closed ? 'terminated' : 'already_closed'}#sessions`, 303);
});

// ---- infobases ----

async function infobaseOr404(c: AppContext): Promise<Infobase> {
  const ib = await infobaseById(c.var.deps.db, Number(c.req.param('id')), now(c), scope(c));
  if (!ib) throw notFound();
  return ib;
}

const cabinetPage = (ib: Infobase) => ({
  base: `/cabinet/infobases/${ib.id}`,
  staff: false,
  terminateAction: (s: SessionBrief) => `/cabinet/sessions/${encodeURIComponent(s.id)}/terminate`,
});

cabinetRoutes.get(`/cabinet/infobases/:id${ID}`, async (c) => {
  const ib = await infobaseOr404(c);
  return renderInfobasePage(c, ib, cabinetPage(ib));
});

cabinetRoutes.post(`/cabinet/infobases/:id${ID}/lock`, async (c) => {
  const ib = await infobaseOr404(c);
  const { input, form } = parseLockForm(c, await c.req.parseBody(), ib);
  if (!input) return renderInfobasePage(c, ib, { ...cabinetPage(ib), lockForm: form, status: 400 });
  try {
    await setLock(c.var.deps.db, actor(c), ib.id, input, now(c));
  } catch (e) {
    return renderInfobasePage(c, ib, { ...cabinetPage(ib), lockForm: lockModelErrors(c, e, form), status: 400 });
  }
  return c.redirect(`/cabinet/infobases/${ib.id}?done=locked`, 303);
});

cabinetRoutes.post(`/cabinet/infobases/:id${ID}/unlock`, async (c) => {
  const ib = await infobaseOr404(c);
  return unlockAsConfirmed(c, ib, cabinetPage(ib), `/cabinet/infobases/${ib.id}?done=unlocked`);
});
