import { monitorSearch, type ColumnId, type MonitorQuery } from '../../src/lib/monitor-query.js';
import { audienceOf } from '../licenses/parts.js';
import type { PageContext } from '../page-context.js';

/** What the viewer may do on the monitor (the route decides; views only show or hide). */
export interface MonitorPerms {
  /** Stop, close packages, messages, reset bindings, clear pools, resolve names: staff. */
  operate: boolean;
  /** Terminate sessions: staff, and client users their own client's. */
  terminate: boolean;
  /** Terminate everything the current filter shows. */
  terminateAll: boolean;
  /** …only once a search or filter narrows the list (support). */
  terminateAllNeedsFilter: boolean;
}

/** The props every monitor component shares: the same for the staff page and a client's cabinet. */
export interface MonitorView {
  ctx: PageContext;
  /** The page's own path ("/monitor"); links and forms are built on it. */
  base: string;
  query: MonitorQuery;
  columns: ColumnId[];
  resolveNames: boolean;
  /** Host names resolved by IP for the rows shown (only when resolveNames is on). */
  names: Record<string, string>;
  perms: MonitorPerms;
}

/** The confirm step of an action: a dialog with htmx, a page of its own without JavaScript. */
export function confirmHref(base: string, query: MonitorQuery, params: Record<string, string | number>): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) p.set(k, String(v));
  const back = monitorSearch(query);
  if (back) p.set('back', back);
  return `${base}/confirm?${p.toString()}`;
}

/**
 * A column's name as the viewer reads it: a client user's monitor says "computer" where staff read
 * "host", as their cabinet does (audienceOf), and "user's IP" for the workstation's. The column
 * head, its filter, the chooser and the details panel use it.
 */
export function columnLabel(ctx: PageContext, col: ColumnId): string {
  if (audienceOf(ctx) === 'client') {
    if (col === 'host') return ctx.t('licenses.hosts.computer');
    // To a client user "client" is their own company, not the workstation the application serves.
    if (col === 'clientIp') return ctx.t('monitor.col.clientIp_client');
  }
  return ctx.t(`monitor.col.${col}`);
}
