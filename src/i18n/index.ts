import { LOCALES, type Locale, type Messages } from './define.js';
import { formatCount } from '../lib/format.js';
import common from './messages/common.js';
import auth from './messages/auth.js';
import admin from './messages/admin.js';
import api from './messages/api.js';
import settings from './messages/settings.js';
import monitor from './messages/monitor.js';
import licenses from './messages/licenses.js';
import clients from './messages/clients.js';
import infobases from './messages/infobases.js';
import cabinet from './messages/cabinet.js';

export { LOCALES, type Locale } from './define.js';

// One file per area keeps parallel work apart; keys are namespaced by area ("auth.login.title").
const areas: Messages[] = [common, auth, admin, api, settings, monitor, licenses, clients, infobases, cabinet];

const catalogue: Record<Locale, Map<string, string>> = { en: new Map(), ru: new Map() };
for (const area of areas) {
  for (const locale of LOCALES) {
    for (const [k, v] of Object.entries(area[locale])) {
      if (catalogue[locale].has(k)) throw new Error(`i18n: duplicate key ${k}`);
      catalogue[locale].set(k, v);
    }
  }
}

export type Params = Record<string, string | number>;
/** A translator bound to one locale. `t.n(key, n)` picks the plural form `key.one|few|many|other` (`key.zero` for 0 where the catalogue has it) ({count}: n with the language's digit grouping). */
export interface T {
  (key: string, params?: Params): string;
  n(key: string, count: number, params?: Params): string;
  locale: Locale;
}

export function hasMessage(key: string): boolean {
  return catalogue.en.has(key);
}

export function allKeys(locale: Locale): string[] {
  return [...catalogue[locale].keys()];
}

function interpolate(text: string, params?: Params): string {
  if (!params) return text;
  return text.replace(/\{(\w+)\}/g, (m, name: string) => (name in params ? String(params[name]) : m));
}

const pluralRules: Record<Locale, Intl.PluralRules> = {
  en: new Intl.PluralRules('en'),
  ru: new Intl.PluralRules('ru'),
};

export function translator(locale: Locale): T {
  const messages = catalogue[locale];
  const fallback = catalogue.en;
  const t = ((key: string, params?: Params) => interpolate(messages.get(key) ?? fallback.get(key) ?? key, params)) as T;
  t.n = (key: string, count: number, params?: Params) => {
    // A message may say nothing at all its own way ("no session is open"), rather than "0 sessions".
    const form = count === 0 && messages.has(`${key}.zero`) ? 'zero' : pluralRules[locale].select(count);
    const k = messages.has(`${key}.${form}`) ? `${key}.${form}` : `${key}.other`;
    // The count is written as the language groups digits, as the catalogue writes its own numbers.
    return t(k, { count: formatCount(count, locale), ...params });
  };
  t.locale = locale;
  return t;
}

/** Picks ru or en from an Accept-Language header by quality; null when neither is named. */
export function localeFromAcceptLanguage(header: string | undefined | null): Locale | null {
  if (!header) return null;
  const ranked = header
    .split(',')
    .map((part) => {
      const [tag, ...params] = part.trim().split(';');
      const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
      return { tag: tag.trim().toLowerCase(), q: q ? Number(q.slice(2)) || 0 : 1 };
    })
    .filter((x) => x.q > 0)
    .sort((a, b) => b.q - a.q);
  for (const { tag } of ranked) {
    const base = tag.split('-')[0];
    if (base === 'ru' || base === 'en') return base;
  }
  return null;
}

export function isLocale(x: unknown): x is Locale {
  return x === 'en' || x === 'ru';
}
