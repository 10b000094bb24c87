import { CliError, UsageError } from './errors.js';
import { CLI } from './invocation.js';

/**
 * The new user's password: from a terminal, typed twice without echo; from a
 * pipe or file, its first line (so `echo secret | npm run cli -- user create …` works).
 */
export async function readNewPassword(command: string): Promise<{ password: string; confirm: string }> {
  if (process.stdin.isTTY) {
    const password = await readHidden('Password: ');
    const confirm = await readHidden('Repeat the password: ');
    return { password, confirm };
  }
  const password = await readFirstLine(process.stdin);
  if (password === null) {
    throw new UsageError(`${command}: password: nothing on standard input; pipe it in, e.g. printf '%s\\n' "$PASSWORD" | ${CLI} ${command} …`);
  }
  return { password, confirm: password };
}

/** The first line of a stream without its line break, or null when the stream is empty. */
async function readFirstLine(stream: NodeJS.ReadableStream): Promise<string | null> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) {
    chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
    if (chunks[chunks.length - 1].includes(10)) break;
    if (chunks.reduce((n, c) => n + c.length, 0) > 4096) break;
  }
  if (chunks.length === 0) return null;
  return Buffer.concat(chunks).toString('utf8').split('\n')[0].replace(/\r$/, '');
}

function readHidden(prompt: string): Promise<string> {
  const stdin = process.stdin;
  return new Promise((resolve, reject) => {
    process.stderr.write(prompt);
    let value = '';
    const finish = () => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write('\n');
    };
    const onData = (text: string) => {
      for (const ch of text) {
        if (ch === '\r' || ch === '\n') {
          finish();
          return resolve(value);
        }
        if (ch === '\u0003' || ch === '\u0004') {
          finish();
          return reject(new CliError('cancelled', 130));
        }
        if (ch === '\u007f' || ch === '\b') value = [...value].slice(0, -1).join('');
        else value += ch;
      }
    };
    stdin.setRawMode(true);
    stdin.setEncoding('utf8');
    stdin.on('data', onData);
    stdin.resume();
  });
}
