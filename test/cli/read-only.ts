import { execFileSync } from 'node:child_process';
import fs from 'node:fs';

/**
 * Makes a file read-only for this user, root included (root ignores permission bits, so
 * for root the file is made immutable); answers the undo, or null where neither works.
 */
export function makeReadOnly(file: string): (() => void) | null {
  if (process.getuid?.() !== 0) {
    fs.chmodSync(file, 0o444);
    return () => fs.chmodSync(file, 0o644);
  }
  try {
    execFileSync('chattr', ['+i', file], { stdio: 'ignore' });
    return () => execFileSync('chattr', ['-i', file], { stdio: 'ignore' });
  } catch {
    return null;
  }
}
