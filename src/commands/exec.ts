// `ckpt exec [-d] NAME -- CMD...`
import { openRecovered } from "./open-recovered.ts";
import { openStore } from "../container/context.ts";
import { execInContainer } from "../container/exec.ts";
import { CkptError, ExitCode, ExitError } from "../errors.ts";
import type { GlobalOptions } from "../global-options.ts";
import { endQuietlyOnBrokenPipe } from "../output/broken-pipe.ts";
import { printJson } from "../output/json.ts";
import { lockContainer } from "../store/locks.ts";

interface ExecOptions extends GlobalOptions {
  detach?: boolean;
}

export async function execCommand(name: string, command: string[], options: ExecOptions): Promise<void> {
  if (command.length === 0) throw new CkptError(ExitCode.usage, "no command given", { hint: `ckpt exec ${name} -- CMD [ARGS...]` });
  // The container's lock only while the process starts: a long exec does not hold off a
  // checkpoint (which then refuses, or with --allow-process-loss leaves it out).
  const lock = await lockContainer(openStore(options).layout, name, { timeoutMs: options.lockTimeoutMs });
  const ctx = await openRecovered(options, name).catch((error: unknown) => {
    lock.release();
    throw error;
  });
  // With --json the process's own output goes to stderr, so stdout stays one JSON document.
  const output = { stdout: options.json ? process.stderr : process.stdout, stderr: process.stderr };
  endQuietlyOnBrokenPipe([process.stdout, process.stderr]);
  const result = await execInContainer(ctx, { command, detach: options.detach === true, onStarted: () => lock.release() }, output).finally(() => lock.release());
  if (options.json) printJson(result);
  else if (options.verbose) process.stderr.write(`ckpt: exec'd PID ${result.pid} in time namespace ${result.timeNamespace.pid1} (joined by ${result.timeNamespace.joinedBy})\n`);
  if (result.exitCode !== 0) throw new ExitError(result.exitCode as ExitCode);
}
