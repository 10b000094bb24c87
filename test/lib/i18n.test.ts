import { describe, expect, it } from 'vitest';
import { allKeys, translator } from '../../src/i18n/index.js';
import { formatBytes } from '../../src/lib/format.js';

describe('message catalogue', () => {
  const en = translator('en');
  const ru = translator('ru');

  it('Russian and English carry the same keys', () => {
    expect(allKeys('ru').sort()).toEqual(allKeys('en').sort());
  });

  it('counts agree with their noun in both languages (one, few, many)', () => {
    const peak = (t: typeof ru, n: number) => t.n('licenses.history.peak', n, { at: 'X' });
    expect(peak(en, 1)).toBe('Peak: 1 concurrent session, first reached X.');
    expect(peak(en, 3)).toBe('Peak: 3 concurrent sessions, first reached X.');
    expect(peak(ru, 1)).toBe('Пик: 1 одновременный сеанс, впервые X.');
    expect(peak(ru, 3)).toBe('Пик: 3 одновременных сеанса, впервые X.');
    expect(peak(ru, 5)).toBe('Пик: 5 одновременных сеансов, впервые X.');
    expect(peak(ru, 21)).toBe('Пик: 21 одновременный сеанс, впервые X.');
  });

  it('limit refusals read right for any limit, one included', () => {
    expect(en('api.feature_limit_reached', { feature: 'export', limit: 1 })).toBe('All seats of the feature "export" are in use (limit 1).');
    expect(ru('api.session_limit_reached', { maxSessions: 3 })).toBe('Заняты все одновременные сеансы лицензии (лимит 3). Закройте сеанс и повторите.');
  });

  it('byte units are the catalogue\'s, per language', () => {
    expect(formatBytes(1536, ru('format.byte_units').split(' '))).toBe('1.5 КБ');
    expect(formatBytes(1536, en('format.byte_units').split(' '))).toBe('1.5 KB');
    expect(formatBytes(-512)).toBe('-512 B');
  });
});
