/**
 * How to run the command line from where this copy of it lives: from the
 * TypeScript sources through npm and tsx, or compiled, as in the Docker image
 * (which has neither tsx nor the npm scripts' dev dependencies).
 */
export function cliInvocation(moduleUrl: string): string {
  return moduleUrl.endsWith('.ts') ? 'npm run cli --' : 'node dist/src/cli/main.js';
}

/** The command a user types to run this command line, for help texts and hints. */
export const CLI = cliInvocation(import.meta.url);
