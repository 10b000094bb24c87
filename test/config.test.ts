import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, localBase } from '../src/config.js';
import { projectRoot } from '../src/lib/paths.js';

function refusal(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env);
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error(`accepted ${JSON.stringify(env)}`);
}

describe('configuration', () => {
  it('has documented defaults', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({
      port: 3000,
      host: '0.0.0.0',
      databasePath: path.resolve('./data/monitor.db'),
      publicUrl: null,
      secureCookies: false,
      trustProxy: [],
      logLevel: 'info',
      defaultLocale: 'en',
      defaultTimeZone: 'UTC',
    });
    expect(Object.isFrozen(c)).toBe(true);
  });

  it('reads good values', () => {
    const c = loadConfig({
      PORT: '8080',
      DATABASE_PATH: '/var/lib/monitor/db.sqlite',
      PUBLIC_URL: 'https://monitor.example.com/',
      TRUST_PROXY: '10.0.0.1, ::1',
      LOG_LEVEL: 'warn',
      SESSION_IDLE_MINUTES: '30',
      LOGIN_MAX_FAILURES_PER_ACCOUNT: '3',
      DEFAULT_LOCALE: 'ru',
      TZ_DEFAULT: 'Europe/Moscow',
    });
    expect(c).toMatchObject({
      port: 8080,
      databasePath: '/var/lib/monitor/db.sqlite',
      publicUrl: 'https://monitor.example.com',
      secureCookies: true,
      trustProxy: ['10.0.0.1', '::1'],
      logLevel: 'warn',
      webSessionIdleMinutes: 30,
      loginMaxFailuresPerAccount: 3,
      defaultLocale: 'ru',
      defaultTimeZone: 'Europe/Moscow',
    });
    expect(loadConfig({ PUBLIC_URL: 'http://localhost:3000' }).secureCookies).toBe(false);
  });

  // Every validated variable, with a value it must refuse.
  const BAD: [string, string, string?][] = [
    ['PORT', 'abc'],
    ['PORT', '70000'],
    ['PORT', '-1'],
    ['PUBLIC_URL', 'monitor.example.com'],
    ['PUBLIC_URL', 'ftp://monitor.example.com'],
    ['PUBLIC_URL', 'https://monitor.example.com/sub'],
    ['PUBLIC_URL', 'https://monitor.example.com/?x=1'],
    ['PUBLIC_URL', 'https://admin:pw@monitor.example.com'],
    ['TRUST_PROXY', '10.0.0.1, proxy.local', 'proxy.local'],
    ['TRUST_PROXY', '10.0.0.1, 10.0.0.300', '10.0.0.300'],
    ['TRUST_PROXY', 'cafe', 'cafe'],
    ['TRUST_PROXY', '172.18.0.0/16'],
    ['LOG_LEVEL', 'verbose'],
    ['SESSION_IDLE_MINUTES', '0'],
    ['SESSION_MAX_HOURS', '1.5'],
    ['SETUP_LINK_MINUTES', 'soon'],
    ['PASSWORD_HASH_CONCURRENCY', '0'],
    ['LOGIN_MAX_FAILURES_PER_ACCOUNT', 'many'],
    ['LOGIN_MAX_FAILURES_PER_IP', '0'],
    ['LOGIN_WINDOW_SECONDS', '86401'],
    ['CAPTURE_RATE_PER_IP', 'x'],
    ['CAPTURE_RATE_PER_KEY', '0'],
    ['CAPTURE_RATE_WINDOW_SECONDS', '3601'],
    ['DEFAULT_LOCALE', 'de'],
    ['TZ_DEFAULT', 'Mars/Olympus'],
  ];
  it('says what was typed and the range: a huge number as typed (not 1e+23), a negative one as out of range', () => {
    expect(refusal({ PORT: '99999999999999999999999' }).message).toBe('PORT: must be between 0 and 65535, got 99999999999999999999999');
    expect(refusal({ PORT: '9'.repeat(40) }).message).toBe(`PORT: must be between 0 and 65535, got ${'9'.repeat(24)}…`);
    expect(refusal({ PORT: '-1' }).message).toBe('PORT: must be between 0 and 65535, got -1');
    expect(refusal({ PORT: 'abc' }).message).toBe('PORT: must be a whole number between 0 and 65535, got "abc"');
    expect(refusal({ SESSION_IDLE_MINUTES: '1000', SESSION_MAX_HOURS: '12' }).message).toBe(
      'SESSION_IDLE_MINUTES: must not be longer than SESSION_MAX_HOURS (12 h = 720 min), got 1000',
    );
    expect(loadConfig({ SESSION_IDLE_MINUTES: '720', SESSION_MAX_HOURS: '12' }).webSessionIdleMinutes).toBe(720);
  });

  it('keeps TRUST_PROXY addresses in the form the server sees a connection from', () => {
    expect(loadConfig({ TRUST_PROXY: '10.0.0.1, ::FFFF:172.18.0.2, 0:0:0:0:0:0:0:1, FD00::0:5' }).trustProxy).toEqual(['10.0.0.1', '172.18.0.2', '::1', 'fd00::5']);
  });

  for (const [name, value, shown = value] of BAD) {
    it(`refuses ${name}=${value} naming the variable`, () => {
      const e = refusal({ [name]: value });
      expect(e.variable).toBe(name);
      expect(e.message.startsWith(`${name}: `)).toBe(true);
      expect(e.message).toContain(shown);
    });
  }

  it('stops the server start with a message naming the variable', () => {
    const res = spawnSync(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
      cwd: projectRoot,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, PORT: 'abc', DATABASE_PATH: ':memory:' },
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(res.status).toBe(2);
    expect(res.stderr).toContain('PORT');
    expect(res.stderr).not.toMatch(/\n\s+at /);
  });
  it('links name HOST when it is one address, localhost when it is every address (PUBLIC_URL unset)', () => {
    expect(localBase('0.0.0.0', 3000)).toBe('http://localhost:3000');
    expect(localBase('::', 3000)).toBe('http://localhost:3000');
    expect(localBase('127.0.0.1', 4452)).toBe('http://127.0.0.1:4452');
    expect(localBase('::1', 4452)).toBe('http://[::1]:4452');
    expect(localBase('monitor.internal', 80)).toBe('http://monitor.internal:80');
  });
});
