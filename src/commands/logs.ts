// `ckpt logs [-f] NAME`
import { liveState, openContainer, openStore } from "../container/context.ts";
import { readLogFrom, writeLogLines } from "../container/logs.ts";
import { isActive } from "../container/status.ts";
import { ExitCode, ExitError } from "../errors.ts";
import { readExitCode } from "../monitor/conmon.ts";
import type { GlobalOptions } from "../global-options.ts";
import { endQuietlyOnBrokenPipe } from "../output/broken-pipe.ts";

interface LogsOptions extends GlobalOptions {
  follow?: boolean;
  timestamps?: boolean;
}

export async function logsCommand(name: string, options: LogsOptions): Promise<void> {
  await followLogs(options, name, { follow: options.follow === true, exitWithContainer: false });
}

// Prints the log; when following, keeps printing until the container stops (or is
// checkpointed) or the user interrupts.
export async function followLogs(options: LogsOptions, name: string, how: { follow: boolean; exitWithContainer: boolean }): Promise<void> {
  const ctx = await openContainer(openStore(options), name);
  endQuietlyOnBrokenPipe([process.stdout, process.stderr]);
  const path = ctx.store.layout.containerLog(name);
  const carry = {};
  let offset = 0;
  let stopping = false;
  const onSignal = () => (stopping = true);
  process.once("SIGINT", onSignal);
  try {
    for (;;) {
      const read = await readLogFrom(path, offset, carry);
      offset = read.offset;
      writeLogLines(read.lines, process, options.timestamps);
      if (!how.follow || stopping) return;
      if (read.lines.length === 0) {
        const live = await liveState(ctx);
        if (!isActive(live.status)) {
          writeLogLines((await readLogFrom(path, offset, carry)).lines, process, options.timestamps);
          if (how.exitWithContainer) {
            const exitCode = await readExitCode(ctx.store.layout.exitDir(name), ctx.record.id);
            if (exitCode !== null && exitCode !== 0) throw new ExitError(exitCode as ExitCode);
          }
          return;
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  } finally {
    process.off("SIGINT", onSignal);
  }
}
