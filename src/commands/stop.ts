// `ckpt stop [-t DURATION] NAME...`
import { openRecovered } from "./open-recovered.ts";
import { stopContainer, type StopResult } from "../container/stop.ts";
import type { GlobalOptions } from "../global-options.ts";
import { printJson } from "../output/json.ts";
import { withContainerLock } from "../store/locks.ts";
import { openStore } from "../container/context.ts";

export async function stopCommand(names: string[], options: GlobalOptions): Promise<void> {
  // -t, else CKPT_STOP_TIMEOUT, else the config file, else 10s; "5", "5s" and "1m" all work.
  const graceSeconds = options.settings.stopTimeout.value / 1000;
  const results: StopResult[] = [];
  for (const name of names) {
    const result = await withContainerLock(openStore(options).layout, name, { timeoutMs: options.lockTimeoutMs }, async () => stopContainer(await openRecovered(options, name), graceSeconds));
    results.push(result);
    if (!options.json) {
      process.stdout.write(result.signal === null ? `${name}: was not running\n` : `${name}: stopped by ${result.signal}${result.signal === "SIGKILL" ? ` (still running ${graceSeconds}s after SIGTERM)` : ""}\n`);
    }
  }
  if (options.json) printJson(results);
}
