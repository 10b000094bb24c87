// A real server process over a shared database file, for cross-process race tests:
//   tsx test/helpers/race-server.ts <database file>
// Prints "PORT <n>" once listening on 127.0.0.1.
import { serve } from '@hono/node-server';
import { createApp } from '../../src/app.js';
import { testConfig } from '../../src/config.js';
import { openDatabase } from '../../src/db/connection.js';
import { systemClock } from '../../src/lib/clock.js';

const file = process.argv[2];
if (!file) throw new Error('usage: race-server.ts <database file>');
const { db } = openDatabase(file);
const { app } = createApp({ db, config: testConfig({ databasePath: file }), clock: systemClock });
const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info) => {
  process.stdout.write(`PORT ${info.port}\n`);
});
const stop = () => server.close(() => db.destroy().then(() => process.exit(0)));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
