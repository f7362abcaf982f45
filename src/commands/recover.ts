// `ckpt recover [NAME...] [--json]`: finishes or undoes what killed ckpt commands left
// (operations/recover.ts), on the named containers or every one, and removes the staging
// directories of dead owners. Every other command does this for its own container first.
import { openStore } from "../container/context.ts";
import type { GlobalOptions } from "../global-options.ts";
import { recoverAll, sweepOrphanedStaging } from "../operations/recover.ts";
import { printJson } from "../output/json.ts";

export async function recoverCommand(names: string[], options: GlobalOptions): Promise<void> {
  const store = openStore(options);
  const reports = await recoverAll(store, names.length === 0 ? undefined : names);
  const staging = await sweepOrphanedStaging(store);
  if (options.json) {
    printJson({ recovered: reports, stagingRemoved: staging });
    return;
  }
  if (reports.length === 0 && staging.length === 0) {
    process.stdout.write(`nothing to recover${names.length === 0 ? "" : ` for ${names.join(", ")}`}: no interrupted operation\n`);
    return;
  }
  for (const r of reports) process.stdout.write(`${r.name}: ${r.said}\n`);
  for (const dir of staging) process.stdout.write(`removed the staging directory of a killed ckpt: ${dir}\n`);
}
