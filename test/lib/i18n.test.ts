import { describe, expect, it } from 'vitest';
import { allKeys, translator } from '../../src/i18n/index.js';
import { formatBytes, formatCpuSeconds } from '../../src/lib/format.js';

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

  it('nothing is said its own way where the catalogue has a zero form, not as "0 sessions"', () => {
    expect(en.n('licenses.hosts.reset_confirm', 0, { host: 'PC-1' })).toBe('Reset the binding of PC-1? No session is open on it.');
    expect(ru.n('licenses.done.reset', 0)).toBe('Привязка сброшена; открытых сеансов на ней не было.');
    expect(en.n('licenses.suspend_hint', 0)).toBe('A suspended license refuses every new capture; it has no live session now.');
    // Other counts keep their plural forms; a message without a zero form says 0 as a number.
    expect(en.n('licenses.hosts.reset_confirm', 2, { host: 'PC-1' })).toBe('Reset the binding of PC-1? This closes 2 open sessions on it.');
    expect(en.n('licenses.history.peak', 0, { at: 'X' })).toBe('Peak: 0 concurrent sessions, first reached X.');
  });

  it('Russian names a session «сеанс» everywhere, with words that agree', () => {
    const texts = allKeys('ru').map((k) => `${k}: ${ru(k)}`);
    expect(texts.filter((x) => /сесси/i.test(x))).toEqual([]);
    expect(texts.filter((x) => /(^|[^а-яё])(еще|нем|ее)([^а-яё]|$)/i.test(x))).toEqual([]); // ё as everywhere else
    expect(ru('app.name')).toBe('Монитор сеансов');
    expect([1, 3, 5, 21].map((n) => ru.n('monitor.count', n))).toEqual(['1 сеанс', '3 сеанса', '5 сеансов', '21 сеанс']);
    expect([1, 3, 5].map((n) => ru.n('monitor.done.terminated_all', n))).toEqual(['Завершён 1 сеанс.', 'Завершено 3 сеанса.', 'Завершено 5 сеансов.']);
    expect(ru('monitor.done.terminated.other')).toBe(ru('licenses.done.terminated'));
    expect(ru.n('monitor.confirm.terminate_all.text', 21)).toMatch(/^21 сеанс, отобранный текущим фильтром, будет закрыт,/);
    expect(ru.n('monitor.confirm.reset.text', 3, { host: 'H', key: 'K' })).toContain('3 открытых на нём сеанса будут закрыты');
    // The same session states read the same on the monitor and on a license card.
    for (const s of ['alive', 'late', 'sleeping', 'running']) expect(ru(`monitor.state.${s}`)).toBe(ru(`licenses.session_state.${s}`));
    // A staff member's web sign-in is a «сеанс входа», so it is not mistaken for an application's session.
    expect(ru('admin.users.reset_hint')).toBe('Задаёт новый пароль и завершает все сеансы входа пользователя.');
  });

  it('Russian texts without a plural key read right for 1 and 21 as well', () => {
    expect(ru.n('licenses.hosts_of', 1, { bound: 1 })).toBe('привязано: 1 из 1');
    expect(ru.n('licenses.hosts_of', 21, { bound: 5 })).toBe('привязано: 5 из 21');
    expect(ru.n('cabinet.computers_of', 3, { bound: 0 })).toBe('привязано: 0 из 3');
    expect(ru('cabinet.quota.spent', { quota: 3 })).toBe('Вы использовали все самостоятельные сбросы за последние 30 дней (3 из 3).');
    expect(ru('licenses.sessions.shown', { shown: 20, total: 21 })).toBe('Показано сеансов: 20 из 21');
    expect(ru('api.host_limit_reached', { boundHosts: 1, maxHosts: 1 })).toMatch(/^Лимит компьютеров лицензии исчерпан: привязано 1 из 1\./);
    expect([1, 3, 21].map((n) => ru.n('monitor.done.pools_cleared', n))).toEqual([
      'Пулы пакетов очищены на 1 хосте.', 'Пулы пакетов очищены на 3 хостах.', 'Пулы пакетов очищены на 21 хосте.',
    ]);
  });

  it('English host counts agree with the limit they are counted against', () => {
    expect([0, 1, 3].map((bound) => en.n('licenses.hosts_of', 1, { bound }))).toEqual(['0 of 1 host bound', '1 of 1 host bound', '3 of 1 host bound']);
    expect(en.n('licenses.hosts_of', 2, { bound: 1 })).toBe('1 of 2 hosts bound');
    expect(en.n('cabinet.computers_of', 1, { bound: 0 })).toBe('0 of 1 computer bound');
    expect(en.n('cabinet.computers_of', 2, { bound: 2 })).toBe('2 of 2 computers bound');
  });

  it('plural counts are grouped as each language writes numbers', () => {
    expect(en.n('monitor.count', 1_234_567)).toBe('1,234,567 sessions');
    expect(ru.n('monitor.count', 1_234_567)).toBe('1\u00a0234\u00a0567 сеансов');
  });

  it('limit refusals read right for any limit, one included', () => {
    expect(en('api.feature_limit_reached', { feature: 'export', limit: 1 })).toBe('All seats of the feature "export" are in use (limit 1).');
    expect(ru('api.session_limit_reached', { maxSessions: 3 })).toBe('Заняты все одновременные сеансы лицензии (лимит 3). Закройте сеанс и повторите.');
  });

  it('byte units and the decimal mark are the catalogue\'s, per language', () => {
    expect(formatBytes(1536, ru('format.byte_units').split(' '), ru('format.decimal_mark'))).toBe('1,5 КБ');
    expect(formatCpuSeconds(82_600, ru('format.decimal_mark'))).toBe('82,6');
    expect(formatCpuSeconds(1234, en('format.decimal_mark'))).toBe('1.23');
    expect(formatBytes(1536, en('format.byte_units').split(' '))).toBe('1.5 KB');
    expect(formatBytes(-512)).toBe('-512 B');
  });
});
