// `ckpt checkpoint --all` and `ckpt restore --all`: the node-reboot pair. Events go to
// stderr as they happen; the outcome is the journal (a table, or JSON with --json).
import { openStore } from "../container/context.ts";
import { CkptError, ExitCode } from "../errors.ts";
import type { GlobalOptions } from "../global-options.ts";
import { colors } from "../output/color.ts";
import { printJson } from "../output/json.ts";
import { containerEvent } from "../output/progress.ts";
import { renderTable } from "../output/table.ts";
import { checkpointAll } from "../operations/checkpoint-all.ts";
import type { Journal, JournalEntry } from "../recovery/journal.ts";
import { restoreAll } from "../operations/restore-all.ts";
import { recoverAll, sweepOrphanedStaging } from "../operations/recover.ts";

interface AllOptions extends GlobalOptions {
  stop?: boolean;
  maxAttempts?: string;
  tcpEstablished?: boolean;
  fileLocks?: boolean;
  tcpClose?: boolean;
  retain?: string;
}

export async function checkpointAllCommand(options: AllOptions): Promise<void> {
  const { settings } = options;
  const { journal, path } = await checkpointAll(openStore(options), { parallel: settings.parallel.value, stop: options.stop !== false, graceSeconds: settings.stopTimeout.value / 1000, progressTimeoutMs: settings.progressTimeout.value, lockTimeoutMs: options.lockTimeoutMs, dumpOptions: { tcpEstablished: options.tcpEstablished === true, fileLocks: options.fileLocks === true, tcpClose: options.tcpClose === true }, onEvent: containerEvent(options) });
  // The retain setting, once the journal is complete (what it names is never removed).
  const { applyRetention } = await import("../checkpoint/prune.ts");
  const retention = await applyRetention(openStore(options), journal.entries.filter((e) => e.state === "checkpointed").map((e) => e.name), settings.retain.value);
  for (const w of retention.warnings) process.stderr.write(`ckpt: warning: ${w}\n`);
  render(journal, path, options);
  // Every container handled (checkpointed, or stopped as asked) is success; one left
  // running, lost, or busy with another command is not.
  const bad = journal.entries.filter((e) => e.state === "left" || e.state === "lost" || e.state === "pending" || e.state === "busy");
  if (bad.length > 0) throw new CkptError(ExitCode.refused, `${bad.length} container(s) were neither checkpointed nor stopped: ${bad.map((e) => `${e.name} (${e.state})`).join(", ")}`, { hint: `the journal ${path} has the reasons` });
}

export async function restoreAllCommand(options: AllOptions): Promise<void> {
  const { settings } = options;
  const maxAttempts = Number(options.maxAttempts ?? 5);
  if (!Number.isInteger(maxAttempts) || maxAttempts < 1) throw new CkptError(ExitCode.usage, `--max-attempts ${options.maxAttempts}: give a whole number of at least 1`);
  // What killed commands left is finished or undone first (say what), so that each
  // container comes back from its newest complete checkpoint.
  const store = openStore(options);
  for (const report of await recoverAll(store)) process.stderr.write(`ckpt: recovered ${report.said}\n`);
  await sweepOrphanedStaging(store);
  const result = await restoreAll(store, {
    lockTimeoutMs: options.lockTimeoutMs,
    parallel: settings.parallel.value,
    policy: { initialMs: settings.backoffInitial.value, maxMs: settings.backoffMax.value, resetAfterMs: settings.backoffReset.value },
    maxAttempts,
    timeMode: settings.timeMode.value,
    progressTimeoutMs: settings.progressTimeout.value,
    onEvent: containerEvent(options),
  });
  render(result.journal, result.path, options);
  const failed = result.journal.entries.filter((e) => e.state === "failed");
  if (failed.length > 0) throw new CkptError(ExitCode.criuFailed, `${failed.length} container(s) could not be restored: ${failed.map((e) => e.name).join(", ")}`, { hint: `run ckpt restore --all again to retry; the journal ${result.path} has the reasons` });
}

function render(journal: Journal, file: string, options: GlobalOptions): void {
  if (options.json) {
    printJson({ journal: file, ...journal });
    return;
  }
  const c = colors(options);
  const paint = (e: JournalEntry) => (e.state === "checkpointed" || e.state === "restored" ? c.green(e.state) : e.state === "stopped" ? c.yellow(e.state) : c.red(e.state));
  const rows = [["NAME", "STATE", "ATTEMPTS", "DETAIL"], ...journal.entries.map((e) => [e.name, paint(e), String(e.attempts), e.state === "stopped" ? `${e.signal}: ${e.reason ?? ""}` : (e.reason ?? e.checkpoint ?? "")])];
  process.stdout.write(`${renderTable(rows).join("\n")}\n${c.dim(`journal: ${file}`)}\n`);
}
