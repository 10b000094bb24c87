export type Locale = 'en' | 'ru';
export const LOCALES: readonly Locale[] = ['en', 'ru'];

export interface Messages {
  en: Record<string, string>;
  ru: Record<string, string>;
}

/** One area's catalogue; the type makes Russian carry exactly the English keys. */
export function defineMessages<K extends string>(en: Record<K, string>, ru: Record<K, string>): Messages {
  return { en, ru };
}
