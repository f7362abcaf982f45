// Typed errors with stable exit codes. Only the top-level handler in cli.ts turns them
// into output and an exit status; everything else throws.

// Exit codes are part of ckpt's contract with scripts: never renumber, only add.
export const ExitCode = {
  ok: 0,
  internal: 1,
  usage: 2,
  hostNotReady: 3,
  notFound: 4,
  refused: 5,
  criuFailed: 6,
  runtimeFailed: 7,
  badCheckpoint: 8,
  conflict: 9,
  transferFailed: 10,
  interrupted: 130,
  outputClosed: 141,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

// What each code means, for `--help` and the README.
export const exitCodeMeaning: Record<ExitCode, string> = {
  0: "success",
  1: "internal error (a bug in ckpt: please report it)",
  2: "usage error: unknown flag, missing argument or conflicting options",
  3: "host not ready: a required tool or kernel feature is missing (see `ckpt doctor`)",
  4: "not found: no such container or checkpoint",
  5: "refused: a pre-flight check found that the operation would lose something",
  6: "CRIU failed: the evidence from its log is printed and the log is kept",
  7: "the OCI runtime failed",
  8: "bad checkpoint: missing, damaged or unsafe checkpoint data",
  9: "conflict: the name is taken, the container is in the wrong state, or another ckpt command holds it (--lock-timeout)",
  10: "transfer failed: the archive could not be written or read (closed pipe, full disk); the container keeps running",
  130: "interrupted by a signal",
  141: "output closed early (for example piped into head): ckpt ended quietly, as a program killed by SIGPIPE would",
};

export interface CkptErrorOptions {
  // How to fix it, in one line an operator can act on.
  hint?: string;
  // Lines of evidence (for example the Error lines of a CRIU log) shown under the message.
  evidence?: readonly string[];
  cause?: unknown;
}

// An expected failure: its message says what went wrong and why, its hint how to fix it.
export class CkptError extends Error {
  readonly exitCode: ExitCode;
  readonly hint: string | undefined;
  readonly evidence: readonly string[];

  constructor(exitCode: ExitCode, message: string, options: CkptErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "CkptError";
    this.exitCode = exitCode;
    this.hint = options.hint;
    this.evidence = options.evidence ?? [];
  }
}

// Ends a command with a given exit code after the command has already said why.
export class ExitError extends Error {
  readonly exitCode: ExitCode;
  constructor(exitCode: ExitCode) {
    super(`exit ${exitCode}`);
    this.name = "ExitError";
    this.exitCode = exitCode;
  }
}
