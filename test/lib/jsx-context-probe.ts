// Run by jsx-context.test.ts in a process of its own: `node --import tsx jsx-context-probe.ts app|hono`.
// Renders the login page through createApp (or a paragraph with Hono alone) and an SVG, then prints
// whether async hooks are on for promises, as one line of JSON.
import { executionAsyncId } from 'node:async_hooks';
import { jsx } from 'hono/jsx';
import { createApp } from '../../src/app.js';
import { testConfig } from '../../src/config.js';
import { openDatabase } from '../../src/db/connection.js';
import { migrateToLatest } from '../../src/db/migrate.js';
import { ManualClock } from '../../src/lib/clock.js';

let status = 0;
let page = '';
if (process.argv[2] === 'app') {
  const { db } = openDatabase(':memory:');
  await migrateToLatest(db);
  const { app } = createApp({ db, config: testConfig({}), clock: new ManualClock() });
  const res = await app.request('/login');
  status = res.status;
  page = await res.text();
  await db.destroy();
} else {
  page = String(jsx('p', {}, 'plain'));
}
const svg = String(jsx('svg', { viewBox: '0 0 1 1' }, jsx('path', { strokeWidth: 2, d: 'M0' })));
// With promise hooks off, a promise's callback runs in the async id of whoever awaited it.
const outer = executionAsyncId();
const inner = await Promise.resolve().then(() => executionAsyncId());
console.log(JSON.stringify({ hooksOn: inner !== outer, status, page, svg }));
