import { defineMessages } from '../define.js';

// Users, API tokens, audit log, settings.
export default defineMessages({}, {});
