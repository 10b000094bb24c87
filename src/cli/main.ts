import { ConfigError, loadConfig, type Config } from '../config.js';
import { backup } from './backup.js';
import { CliError, UsageError } from './errors.js';
import { CLI } from './invocation.js';
import { migrate } from './migrate.js';
import { tokenCreate } from './token.js';
import { userCreate, userPassword } from './user.js';

const HELP = `Session Monitor command line (${CLI} <command>)

Commands:
  migrate
      Apply pending database migrations.
  user create --email E --role admin|support|client [--client ID] [--name N]
      Create a user. The password is read from standard input (its first line
      when piped; typed twice when on a terminal). Client users need --client.
  user password --email E
      Set a user's password (read as above) and end their sign-ins: for an
      admin who forgot theirs, when no other admin can reset it in Users.
  token create --name N [--role admin|support]
      Create an API token (default role: support). It is printed once, alone
      on the last line of output; only its SHA-256 is stored.
  backup FILE [--force]
      Copy the live database to FILE with SQLite's online backup (safe while
      the server runs), as it is: not upgraded first. Refuses to overwrite
      FILE unless --force.
  help
      Show this text.

The database is DATABASE_PATH (default ./data/monitor.db); every command but
backup migrates it first. Exit codes: 0 done, 1 failed, 2 bad arguments.
`;

type Command = (config: Readonly<Config>, args: string[], out: (line: string) => void) => Promise<void>;

/** A command, or a command whose first argument names one of its subcommands. */
const COMMANDS: Record<string, Command | Record<string, Command>> = {
  migrate,
  user: { create: userCreate, password: userPassword },
  token: { create: tokenCreate },
  backup,
};

let stdoutClosed = false;
// A reader that stops early (`token create … | head -1`) closes the pipe. Node reports that
// as an 'error' event that would crash with a stack trace after the command's work is done;
// the command finishes instead, and what it would still print goes nowhere.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code !== 'EPIPE') throw e;
  stdoutClosed = true;
});

function out(line: string): void {
  if (!stdoutClosed) process.stdout.write(line + '\n');
}

/** Runs one command line; answers the process exit code. */
export async function runCli(argv: string[]): Promise<number> {
  try {
    const [name, ...rest] = argv;
    if (name === undefined) {
      process.stderr.write(HELP);
      return 2;
    }
    if (name === 'help' || name === '--help' || name === '-h' || rest.includes('--help') || rest.includes('-h')) {
      process.stdout.write(HELP);
      return 0;
    }
    const entry = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
    if (!entry) throw new UsageError(`unknown command "${name}"`);
    let command: Command;
    let args = rest;
    if (typeof entry === 'function') command = entry;
    else {
      const subs = Object.keys(entry).map((s) => `"${s}"`).join(' or ');
      const sub = rest[0];
      if (sub === undefined) throw new UsageError(`${name}: missing subcommand (${subs})`);
      if (!Object.hasOwn(entry, sub)) throw new UsageError(`${name}: unknown subcommand "${sub}" (${subs})`);
      command = entry[sub];
      args = rest.slice(1);
    }
    let config: Readonly<Config>;
    try {
      config = loadConfig();
    } catch (e) {
      if (e instanceof ConfigError) throw new CliError(`configuration: ${e.message}`, 2);
      throw e;
    }
    await command(config, args, out);
    // A failed write reports its EPIPE on a later tick. The reader may have missed a token: say so.
    await new Promise((resolve) => setImmediate(resolve));
    if (stdoutClosed) process.stderr.write('warning: standard output was closed early (broken pipe): the command completed, but not all of its output was shown.\n');
    return 0;
  } catch (e) {
    if (e instanceof CliError) {
      process.stderr.write(`error: ${e.message}\n`);
      if (e instanceof UsageError) process.stderr.write(`Run "${CLI} help" for the commands and their options.\n`);
      return e.exitCode;
    }
    // Unexpected: one line, no stack trace (a database or file-system error names itself).
    process.stderr.write(`error: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  }
}

process.exitCode = await runCli(process.argv.slice(2));
