/** A refusal the CLI prints as one line on stderr (never a stack trace) before exiting with `exitCode`. */
export class CliError extends Error {
  constructor(
    message: string,
    public readonly exitCode = 1,
  ) {
    super(message);
  }
}

/** A bad command line: exit code 2, the message names the offending argument. */
export class UsageError extends CliError {
  constructor(message: string) {
    super(message, 2);
  }
}
