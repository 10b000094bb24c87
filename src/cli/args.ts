import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from './errors.js';

type Options = NonNullable<ParseArgsConfig['options']>;

/**
 * node:util's parseArgs with its errors turned into UsageError naming the
 * argument, for one command (`command` prefixes every message).
 */
/** The refusal of a stray word on a command that reads a password: the word is not repeated (it may be the password, typed there by mistake). */
const withheld = (command: string) => `${command}: unexpected argument (not repeated here: the password is read from standard input, never from the command line)`;

export function parseCommand<O extends Options>(command: string, args: string[], options: O, positionals = 0, readsPassword = false) {
  let parsed;
  try {
    parsed = parseArgs({ args, options, allowPositionals: positionals > 0, strict: true });
  } catch (e) {
    const err = e as { code?: string; message?: string };
    const name = /'(-{1,2}[^' ]+)/.exec(err.message ?? '')?.[1] ?? /'([^']+)'/.exec(err.message ?? '')?.[1] ?? '';
    if (err.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') throw new UsageError(`${command}: unknown option ${name}`);
    if (err.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
      // The same code for `--flag=value` on a boolean and a string option given no value.
      const takesNoValue = options[name.replace(/^-+/, '')]?.type === 'boolean';
      throw new UsageError(`${command}: option ${name} ${takesNoValue ? 'takes no value' : 'needs a value'}`);
    }
    if (err.code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') throw new UsageError(readsPassword ? withheld(command) : `${command}: unexpected argument "${name}"`);
    throw new UsageError(`${command}: ${err.message ?? String(e)}`);
  }
  if (parsed.positionals.length > positionals) {
    throw new UsageError(readsPassword ? withheld(command) : `${command}: unexpected argument "${parsed.positionals[positionals]}"`);
  }
  return parsed;
}

/** A required string option, trimmed; names the option when it is missing or empty. */
export function required(command: string, name: string, value: string | boolean | undefined): string {
  if (typeof value !== 'string' || value.trim() === '') throw new UsageError(`${command}: --${name} is required`);
  return value.trim();
}
