import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

// WCAG AA from the stylesheet's own colours: text 4.5:1, control borders and the focus indicator 3:1.

const css = readFileSync(new URL('../../public/app.css', import.meta.url), 'utf8');
const vars = Object.fromEntries([...css.matchAll(/--([\w-]+):\s*(#[0-9a-f]{3,6})/gi)].map((m) => [m[1], m[2]]));
const color = (c: string) => (c.startsWith('var(--') ? vars[c.slice(6, -1)] : c);

function luminance(hex: string): number {
  const h = hex.replace('#', '');
  const full = h.length === 3 ? [...h].map((c) => c + c).join('') : h;
  const [r, g, b] = [0, 2, 4].map((i) => parseInt(full.slice(i, i + 2), 16) / 255).map((c) => (c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4));
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}
function contrast(a: string, b: string): number {
  const [x, y] = [luminance(color(a)), luminance(color(b))].sort((p, q) => q - p);
  return (x + 0.05) / (y + 0.05);
}
/** The declarations of the rule with exactly this selector. */
function rule(selector: string): string {
  const i = css.indexOf(`${selector} {`);
  if (i < 0) throw new Error(`no rule ${selector}`);
  return css.slice(i + selector.length + 2, css.indexOf('}', i));
}

describe('app.css contrast', () => {
  it('text on its backgrounds reaches 4.5:1', () => {
    const pairs: [string, string][] = [
      ['var(--fg)', 'var(--bg)'],
      ['var(--muted)', 'var(--card)'],
      ['var(--muted)', 'var(--bg)'],
      ['var(--muted)', '#eef1f5'], // table heads
      ['var(--muted)', '#dde9f8'], // a late row, selected
      ['var(--accent)', 'var(--card)'],
      ['var(--accent)', '#e3ecf8'],
      ['var(--ok)', 'var(--ok-bg)'],
      ['var(--warn)', 'var(--warn-bg)'],
      ['var(--err)', 'var(--err-bg)'],
      ['#fff', 'var(--run)'],
      ['var(--accent-fg)', 'var(--accent)'],
      ['#dfe7f3', '#14243b'], // top bar
    ];
    for (const [fg, bg] of pairs) expect(contrast(fg, bg), `${fg} on ${bg}`).toBeGreaterThanOrEqual(4.5);
  });

  it('control borders reach 3:1 against the page and the card', () => {
    for (const sel of ['input, select, textarea', 'button, .button', '.mon-drop > summary']) {
      const border = /border: 1px solid (#[0-9a-f]+|var\(--[\w-]+\))/i.exec(rule(sel))?.[1];
      expect(border, sel).toBeDefined();
      for (const bg of ['var(--card)', 'var(--bg)', '#eef1f5']) expect(contrast(border!, bg), `${sel} border on ${bg}`).toBeGreaterThanOrEqual(3);
    }
  });

  it('the focus indicator shows at 3:1 on light backgrounds and on the dark top bar', () => {
    const focus = rule(':focus-visible');
    const rings = [...focus.matchAll(/(?:outline|box-shadow):[^;]*?(#[0-9a-f]{3,6}|var\(--[\w-]+\))/gi)].map((m) => m[1]);
    for (const bg of ['var(--card)', 'var(--bg)', '#14243b']) {
      expect(Math.max(...rings.map((r) => contrast(r, bg))), `focus ring on ${bg}`).toBeGreaterThanOrEqual(3);
    }
  });

  it('the faint filter icons in the monitor head still reach 3:1', () => {
    const opacity = Number(/opacity: ([\d.]+)/.exec(rule('a.flt'))![1]);
    const mix = (fg: string, bg: string) => {
      const p = (h: string, i: number) => parseInt(color(h).slice(1 + i, 3 + i), 16);
      return '#' + [0, 2, 4].map((i) => Math.round(opacity * p(fg, i) + (1 - opacity) * p(bg, i)).toString(16).padStart(2, '0')).join('');
    };
    expect(contrast(mix('var(--accent)', '#eef1f5'), '#eef1f5')).toBeGreaterThanOrEqual(3);
  });
});
