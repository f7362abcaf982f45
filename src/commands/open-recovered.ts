// What every command that acts on one container does first: an interrupted operation on
// it (a killed ckpt's) is finished or undone, and what was done is said, before the
// container is opened.
import { openContainer, openStore, type ContainerContext } from "../container/context.ts";
import type { GlobalOptions } from "../global-options.ts";
import { recoverContainer, type RecoveryReport } from "../operations/recover.ts";

export async function openRecovered(globals: GlobalOptions, name: string): Promise<ContainerContext> {
  const store = openStore(globals);
  sayRecovered(await recoverContainer(store, name));
  return openContainer(store, name);
}

export function sayRecovered(report: RecoveryReport | null): void {
  if (report !== null) process.stderr.write(`ckpt: recovered ${report.said}\n`);
}
