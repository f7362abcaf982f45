// `ckpt checkpoint --all` and `ckpt restore --all`: the node-reboot pair. Events go to
// stderr as they happen; the outcome is the journal (a table, or JSON with --json).
import { loadConfig } from "../config/load.ts";
import { CkptError, ExitCode } from "../errors.ts";
import type { GlobalOptions } from "../global-options.ts";
import type { TimeMode } from "../clock/restore-plan.ts";
import { colors } from "../output/color.ts";
import { printJson } from "../output/json.ts";
import { containerEvent } from "../output/progress.ts";
import { renderTable } from "../output/table.ts";
import { checkpointAll } from "../recovery/checkpoint-all.ts";
import type { Journal, JournalEntry } from "../recovery/journal.ts";
import { restoreAll } from "../recovery/restore-all.ts";

interface AllOptions extends GlobalOptions {
  parallel?: string;
  stop?: boolean;
  progressTimeout?: string;
  time?: string;
  backoffInitial?: string;
  backoffMax?: string;
  backoffReset?: string;
  maxAttempts?: string;
  timeMode?: TimeMode;
  tcpEstablished?: boolean;
  fileLocks?: boolean;
  tcpClose?: boolean;
}

export async function checkpointAllCommand(options: AllOptions): Promise<void> {
  const config = await loadConfig({ parallel: options.parallel, stopTimeout: options.time, progressTimeout: options.progressTimeout });
  const { journal, path } = await checkpointAll(options, { parallel: config.parallel.value as number, stop: options.stop !== false, graceSeconds: (config.stopTimeout.value as number) / 1000, progressTimeoutMs: config.progressTimeout.value as number, dumpOptions: { tcpEstablished: options.tcpEstablished === true, fileLocks: options.fileLocks === true, tcpClose: options.tcpClose === true }, onEvent: containerEvent(options) });
  render(journal, path, options);
  // Every container handled (checkpointed, or stopped as asked) is success; one left
  // running, lost, or busy with another command is not.
  const bad = journal.entries.filter((e) => e.state === "left" || e.state === "lost" || e.state === "pending" || e.state === "busy");
  if (bad.length > 0) throw new CkptError(ExitCode.refused, `${bad.length} container(s) were neither checkpointed nor stopped: ${bad.map((e) => `${e.name} (${e.state})`).join(", ")}`, { hint: `the journal ${path} has the reasons` });
}

export async function restoreAllCommand(options: AllOptions): Promise<void> {
  const config = await loadConfig({ parallel: options.parallel, backoffInitial: options.backoffInitial, backoffMax: options.backoffMax, backoffReset: options.backoffReset, timeMode: options.timeMode, progressTimeout: options.progressTimeout });
  const maxAttempts = Number(options.maxAttempts ?? 5);
  if (!Number.isInteger(maxAttempts) || maxAttempts < 1) throw new CkptError(ExitCode.usage, `--max-attempts ${options.maxAttempts}: give a whole number of at least 1`);
  const result = await restoreAll(options, {
    parallel: config.parallel.value as number,
    policy: { initialMs: config.backoffInitial.value as number, maxMs: config.backoffMax.value as number, resetAfterMs: config.backoffReset.value as number },
    maxAttempts,
    timeMode: config.timeMode.value as TimeMode,
    progressTimeoutMs: config.progressTimeout.value as number,
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
