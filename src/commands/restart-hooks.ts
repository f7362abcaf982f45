// The hidden commands behind `run --restart` (restart/exit-handler.ts). Nobody reads their
// output: they write restart.log and restart.json, and exit 0 unless ckpt itself failed.
import { openStore } from "../container/context.ts";
import type { GlobalOptions } from "../global-options.ts";
import { containerExited, logRestart, waitAndRestart } from "../restart/exit-handler.ts";

export async function containerExitedCommand(name: string, options: GlobalOptions): Promise<void> {
  await containerExited(openStore(options), name);
}

export async function restartWaitCommand(name: string, generation: number, options: GlobalOptions): Promise<void> {
  const store = openStore(options);
  const outcome = await waitAndRestart(store, name, generation);
  await logRestart(store, name, `waiter for generation ${generation}: ${outcome}`);
}
