import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

// Whether rendering pages turns on async hooks for every promise of the process (what Hono's
// JSX renderer does through AsyncLocalStorage on Node 20 and 22, unless the app stops it): in a
// process of its own (jsx-context-probe.ts), since the test runner may have them on already.

const projectRoot = path.resolve(import.meta.dirname, '../..');

function probe(mode: 'app' | 'hono'): { hooksOn: boolean; status: number; page: string; svg: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'test/lib/jsx-context-probe.ts', mode], { cwd: projectRoot, encoding: 'utf8', timeout: 30_000 });
  if (r.status !== 0) throw new Error(`probe failed (${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!);
}

describe('JSX rendering and async hooks', () => {
  it('Hono alone turns async hooks on at its first render (what the app has to stop)', () => {
    const r = probe('hono');
    expect(r.page).toBe('<p>plain</p>');
    expect(r.hooksOn).toBe(true);
  });

  it('the app renders its pages without turning them on, and SVG attributes still get their SVG names', () => {
    const r = probe('app');
    expect(r.status).toBe(200);
    expect(r.page).toContain('<form');
    expect(r.svg).toBe('<svg viewBox="0 0 1 1"><path stroke-width="2" d="M0"></path></svg>');
    expect(r.hooksOn).toBe(false);
  });
});
