// `ckpt stop [-t SECONDS] NAME...`
import { openContainer } from "../container/context.ts";
import { stopContainer, type StopResult } from "../container/stop.ts";
import { CkptError, ExitCode } from "../errors.ts";
import type { GlobalOptions } from "../global-options.ts";
import { printJson } from "../output/json.ts";

interface StopOptions extends GlobalOptions {
  time: string;
}

export async function stopCommand(names: string[], options: StopOptions): Promise<void> {
  const graceSeconds = Number(options.time);
  if (!Number.isFinite(graceSeconds) || graceSeconds < 0) throw new CkptError(ExitCode.usage, `--time must be a number of seconds, not "${options.time}"`);
  const results: StopResult[] = [];
  for (const name of names) {
    const result = await stopContainer(await openContainer(options, name), graceSeconds);
    results.push(result);
    if (!options.json) {
      process.stdout.write(result.signal === null ? `${name}: was not running\n` : `${name}: stopped by ${result.signal}${result.signal === "SIGKILL" ? ` (still running ${graceSeconds}s after SIGTERM)` : ""}\n`);
    }
  }
  if (options.json) printJson(results);
}
