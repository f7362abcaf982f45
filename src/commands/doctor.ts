// `ckpt doctor`: probe the host, evaluate, render. Exit 0 only when at least one
// runtime can checkpoint and restore.
import { evaluateHost, type DoctorCheck, type DoctorReport } from "../doctor/evaluate.ts";
import { ExitCode, ExitError } from "../errors.ts";
import type { GlobalOptions } from "../global-options.ts";
import { gatherHostFacts } from "../doctor/host-facts.ts";
import { colors } from "../output/color.ts";
import { printJson } from "../output/json.ts";
import { renderTable } from "../output/table.ts";
import { configuredRuntimes, runtimeSelection } from "../runtimes/choice.ts";

interface DoctorOptions extends GlobalOptions {
  facts?: boolean;
}

export async function doctorCommand(options: DoctorOptions): Promise<void> {
  const facts = await gatherHostFacts({
    criuPath: options.settings.criu.source === "default" ? undefined : options.settings.criu.value,
    runtimes: configuredRuntimes(runtimeSelection(options.settings)),
  });
  if (options.facts) {
    printJson(facts);
    return;
  }
  const report = evaluateHost(facts);
  if (options.json) printJson(report);
  else renderReport(report, options);
  if (!report.ok) throw new ExitError(ExitCode.hostNotReady);
}

function renderReport(report: DoctorReport, options: GlobalOptions): void {
  const c = colors(options);
  const mark = (check: DoctorCheck) =>
    check.ok ? c.green("ok  ") : check.severity === "error" ? c.red("FAIL") : check.severity === "warning" ? c.yellow("warn") : c.cyan("note");
  const width = Math.max(...report.checks.map((k) => k.id.length));
  const lines = report.checks.map((check) => {
    const line = `  ${mark(check)}  ${check.id.padEnd(width)}  ${check.detail}`;
    return check.fix ? `${line}\n  ${" ".repeat(4)}  ${" ".repeat(width)}  ${c.dim("fix:")} ${check.fix}` : line;
  });
  const usable = report.runtimes.filter((r) => r.checkpoint).map((r) => r.label);
  const verdict = report.ok
    ? c.green.bold(`This host can checkpoint and restore containers with ${usable.join(", ")}.`)
    : c.red.bold("This host cannot checkpoint and restore containers yet: fix the FAIL lines below.");
  // Every configured runtime with its one-clock facts, one row each (--runtime NAME).
  const yes = (b: boolean) => (b ? "yes" : "no");
  const table = renderTable([
    ["RUNTIME", "VERSION", "CHECKPOINT", "EXEC JOINS TIMENS", "OWN TIMENS AT RUN", "LAZY", "PATH"],
    ...report.runtimes.map((r) => [r.label, `${r.name} ${r.version ?? "?"}`, yes(r.checkpoint), r.execJoinsTimeNamespace ? "yes (runtime)" : "no (ckpt exec does)", yes(r.createsTimeNamespace), yes(r.lazyPages), r.path]),
  ]);
  const criu = `CRIU ${report.criu.version ?? "not found"}${report.criu.path === null ? "" : ` at ${report.criu.path}`}`;
  process.stdout.write(`${verdict}\n\n${report.runtimes.length === 0 ? "  no runtime found" : table.map((l) => `  ${l}`).join("\n")}\n  ${criu}\n\n${lines.join("\n")}\n`);
}
