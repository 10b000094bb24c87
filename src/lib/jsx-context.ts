import { raw } from 'hono/html';
import { jsx } from 'hono/jsx';
import type { HtmlEscapedString } from 'hono/utils/html';

type GetBuiltinModule = (id: string) => unknown;

let settled = false;

/**
 * Makes Hono's JSX renderer keep its render context without AsyncLocalStorage. Call it before
 * the first render (createApp does).
 *
 * The renderer keeps what `createContext`/`useContext` provide (its own `<svg>` namespace, and
 * nothing of ours: no view reads a context, and none is async) in an AsyncLocalStorage that it
 * looks up once, at its first render. On Node 20 and 22, entering an AsyncLocalStorage turns on
 * async hooks for every promise in the process, for good: every `await` of every request pays
 * for them — 13–20 µs of CPU per request here (full runs of `npm run bench` in the same hour:
 * the bare POST 73 → 54 µs, a heartbeat 152 → 137 µs, an unchanged poll 0.123 → 0.110 ms). Node 24
 * and later keep such context without hooks (Node's documentation; not measured here); this is
 * harmless there. Looked up while `node:async_hooks`
 * is hidden, the renderer takes its documented fallback — a store that lives for the
 * synchronous render — and renders the same HTML. The hiding lasts for that one render only.
 */
export function renderJsxWithoutAsyncHooks(): void {
  if (settled) return;
  settled = true;
  const proc = process as unknown as { getBuiltinModule?: GetBuiltinModule };
  const original = proc.getBuiltinModule;
  // Older Node: Hono finds no AsyncLocalStorage in an ES module process anyway.
  if (typeof original !== 'function') return;
  proc.getBuiltinModule = (id: string) => (id === 'node:async_hooks' || id === 'async_hooks' ? {} : original.call(process, id));
  try {
    // Any render makes the renderer look the storage up (once per process).
    String(jsx('i', {}));
  } finally {
    proc.getBuiltinModule = original;
  }
}

/** What a JSX expression is to the renderer (hono/jsx's JSX.Element): never a plain string. */
type RenderedElement = HtmlEscapedString | Promise<HtmlEscapedString>;

/**
 * A JSX element rendered once, to be shown again as it is (and hashed): the monitor's refresh
 * digests a row's settled cells and then shows the same HTML without rendering them twice.
 * It takes only the renderer's own output — an element, every value in it already escaped by the
 * renderer; the type refuses a plain string — so no user or agent text reaches the page unescaped.
 */
export function renderedOnce(element: RenderedElement | readonly RenderedElement[]): { html: HtmlEscapedString; text: string } {
  const text = Array.isArray(element) ? element.map(String).join('') : String(element);
  return { html: raw(text), text };
}
