import { formatBytes, formatCount, formatDateTime } from '../../src/lib/format.js';
import type { AuditListRow } from '../../src/models/audit.js';
import type { PageContext } from '../page-context.js';

/** How a detail's value reads; a kind with a meaning for null shows it even when empty. */
type Kind = 'text' | 'role' | 'limit' | 'expiry' | 'quota' | 'code' | 'lock_from' | 'lock_to' | 'bytes' | 'revoke_reason' | 'id';
interface Field {
  label: string;
  kind?: Kind;
}

const NULL_MEANS: Partial<Record<Kind, string>> = {
  limit: 'licenses.unlimited',
  expiry: 'licenses.never_expires',
  quota: 'licenses.quota.default',
  lock_from: 'admin.audit.detail.at_once',
  lock_to: 'infobases.lock.until_unlocked',
};

const LICENSE: Record<string, Field> = {
  product: { label: 'licenses.field.product' },
  features: { label: 'licenses.field.features' },
  featureLimits: { label: 'admin.audit.detail.feature_limits' },
  maxHosts: { label: 'licenses.field.max_hosts' },
  maxSessions: { label: 'licenses.field.max_sessions', kind: 'limit' },
  expiresAt: { label: 'licenses.field.expires', kind: 'expiry' },
  selfResetQuota: { label: 'licenses.field.quota_per_30', kind: 'quota' },
  notes: { label: 'licenses.field.notes' },
  closedSessions: { label: 'admin.audit.detail.closed_sessions' },
};

/**
 * What each detail key written by the models (recordAudit's `details`) means,
 * looked up by the row's action first, then by its target type.
 */
const FIELDS: Record<string, Record<string, Field>> = {
  license: LICENSE,
  client: {
    name: { label: 'clients.field.name' },
    email: { label: 'clients.field.email' },
    phone: { label: 'clients.field.phone' },
    contact_person: { label: 'clients.field.contact' },
    notes: { label: 'clients.field.notes' },
  },
  settings: {
    heartbeatIntervalSec: { label: 'settings.heartbeatIntervalSec' },
    leaseTimeoutSec: { label: 'settings.leaseTimeoutSec' },
    poolSize: { label: 'settings.poolSize' },
    selfResetQuotaDefault: { label: 'settings.selfResetQuotaDefault' },
    retentionDays: { label: 'settings.retentionDays' },
  },
  infobase: {
    from: { label: 'infobases.lock.from', kind: 'lock_from' },
    to: { label: 'infobases.lock.to', kind: 'lock_to' },
    message: { label: 'infobases.lock.message' },
    hasPermissionCode: { label: 'infobases.lock.code', kind: 'code' },
    denySessions: { label: 'infobases.lock.deny_sessions' },
    denyBackgroundJobs: { label: 'infobases.lock.deny_background' },
  },
  user: { role: { label: 'admin.users.role', kind: 'role' }, email: { label: 'admin.users.email' }, name: { label: 'admin.users.name' } },
  api_token: {
    role: { label: 'admin.tokens.role', kind: 'role' },
    reason: { label: 'admin.audit.reason', kind: 'revoke_reason' },
  },
  session: {
    message: { label: 'admin.audit.detail.message' },
    text: { label: 'admin.audit.detail.message' },
    path: { label: 'monitor.col.path' },
    commandId: { label: 'admin.audit.detail.command' },
    packageId: { label: 'admin.audit.detail.package' },
  },
  host: {
    licenseId: { label: 'admin.audit.target_type.license', kind: 'id' },
    closedSessions: { label: 'admin.audit.detail.closed_sessions' },
    selfService: { label: 'admin.audit.detail.self_service' },
    sessions: { label: 'admin.audit.detail.sessions' },
    path: { label: 'monitor.col.path' },
  },
  'monitor.resolve_names': { on: { label: 'monitor.resolve_names' } },
  'host.pool_clear_all': { hosts: { label: 'admin.audit.detail.hosts' } },
  'database.migrated': { migrations: { label: 'admin.audit.detail.migrations' } },
  'database.backup': { file: { label: 'admin.audit.detail.file' }, bytes: { label: 'admin.audit.detail.size', kind: 'bytes' } },
};

/** Actions whose whole details are one change, {from, to}, of what the action names. */
const WHOLE_CHANGE: Record<string, Kind> = { 'user.role_changed': 'role', 'settings.support_contact': 'text' };

const MAX_VALUE = 80;

export interface DetailItem {
  /** Absent for an action whose details are one change of what the action names. */
  label?: string;
  value: string;
  /** The whole value, when `value` is shortened. */
  full?: string;
}

const isChange = (v: unknown): v is { from: unknown; to: unknown } =>
  !!v && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length === 2 && 'from' in v && 'to' in v;

/** The catalogue's text for the key, or the fallback when it has none. */
function labelOr(t: PageContext['t'], key: string, fallback: string): string {
  const label = t(key);
  return label === key ? fallback : label;
}

/** The row's details as label/value pairs in the viewer's language ("Host limit: 3 → 1"). */
export function auditDetailItems(ctx: PageContext, row: Pick<AuditListRow, 'action' | 'target_type' | 'details'>): DetailItem[] {
  const { t, locale, timeZone } = ctx;
  const d = row.details;
  if (!d) return [];

  const value = (v: unknown, kind: Kind = 'text'): string => {
    if (v === null || v === undefined || v === '') return NULL_MEANS[kind] ? t(NULL_MEANS[kind]) : t('common.none');
    if (typeof v === 'boolean') {
      if (kind === 'code') return t(v ? 'infobases.lock.code_set' : 'infobases.lock.code_none');
      return t(v ? 'common.yes' : 'common.no');
    }
    if (typeof v === 'number') {
      if (kind === 'expiry' || kind === 'lock_from' || kind === 'lock_to') return formatDateTime(v, locale, timeZone);
      if (kind === 'bytes') return formatBytes(v, t('format.byte_units').split(' '), t('format.decimal_mark'));
      // An object's number, as the rest of the pages name one ("#12"); counts and limits grouped as the card writes them.
      if (kind === 'id') return `#${v}`;
      return formatCount(v, locale);
    }
    if (typeof v === 'string') {
      if (kind === 'role') return labelOr(t, `role.${v}`, v);
      if (kind === 'revoke_reason') return labelOr(t, `admin.audit.revoke_reason.${v.replaceAll(' ', '_')}`, v);
      return v;
    }
    if (Array.isArray(v)) return v.length ? v.map((x) => value(x)).join(', ') : t('common.none');
    if (typeof v === 'object') {
      const entries = Object.entries(v);
      return entries.length ? entries.map(([k, x]) => `${k}: ${value(x)}`).join(', ') : t('common.none');
    }
    return String(v);
  };
  const item = (label: string | undefined, text: string): DetailItem =>
    [...text].length > MAX_VALUE ? { label, value: [...text].slice(0, MAX_VALUE - 1).join('') + '…', full: text } : { label, value: text };

  const whole = WHOLE_CHANGE[row.action];
  if (whole && isChange(d)) return [item(undefined, `${value(d.from, whole)} → ${value(d.to, whole)}`)];

  const items: DetailItem[] = [];
  for (const [key, v] of Object.entries(d)) {
    const field = FIELDS[row.action]?.[key] ?? (row.target_type ? FIELDS[row.target_type]?.[key] : undefined);
    const label = field ? t(field.label) : key;
    const kind = field?.kind;
    if (isChange(v)) {
      // Each side shortened on its own, so both ends of a long change stay readable.
      const side = (x: unknown) => item(undefined, value(x, kind));
      const [from, to] = [side(v.from), side(v.to)];
      items.push({ label, value: `${from.value} → ${to.value}`, full: from.full || to.full ? `${from.full ?? from.value} → ${to.full ?? to.value}` : undefined });
    } else if ((v === null || v === '') && !(kind && NULL_MEANS[kind])) {
      // Nothing given (a terminate without a message): nothing to say.
      continue;
    } else {
      items.push(item(label, value(v, kind)));
    }
  }
  return items;
}

/** The row's details, "Host limit: 3 → 1; Concurrent session limit: 12 → 2". */
export function AuditDetails(props: { ctx: PageContext; row: Pick<AuditListRow, 'action' | 'target_type' | 'details'> }) {
  const items = auditDetailItems(props.ctx, props.row);
  return (
    <>
      {items.map((it, i) => (
        <>
          {i > 0 && '; '}
          <span class="audit-detail" title={it.full}>
            {it.label !== undefined && <span class="muted">{it.label}: </span>}
            {it.value}
          </span>
        </>
      ))}
    </>
  );
}
