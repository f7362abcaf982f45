// `ckpt demo [--keep]`
import { formatDurationNs } from "../clock/timespec.ts";
import { chooseRuntime, runtimeSelection } from "../runtimes/choice.ts";
import { openStore } from "../container/context.ts";
import { runDemo, type DemoReport } from "../demo/demo.ts";
import type { GlobalOptions } from "../global-options.ts";
import { colors } from "../output/color.ts";
import { printJson } from "../output/json.ts";
import { renderTable } from "../output/table.ts";
import { humanDuration } from "../output/time.ts";

interface DemoOptions extends GlobalOptions {
  keep?: boolean;
}

export async function demoCommand(options: DemoOptions): Promise<void> {
  const c = colors(options, process.stderr);
  const report = await runDemo(openStore(options), await chooseRuntime(runtimeSelection(options.settings)), (line) => options.json || process.stderr.write(c.dim(`.. ${line}\n`)), options.keep === true);
  if (options.json) {
    printJson({ ...report, checkpoint: { dir: report.checkpoint.dir, manifest: report.checkpoint.manifest }, restore: { pid: report.restore.pid, plan: report.restore.plan, timeNamespace: report.restore.timeNamespace, downtimeNs: report.restore.downtimeNs } });
    return;
  }
  render(report, options);
}

function render(r: DemoReport, options: GlobalOptions): void {
  const c = colors(options);
  const m = r.checkpoint.manifest;
  const ns = r.restore.timeNamespace;
  const same = r.timeNamespaces.shared;
  const lines = [
    "",
    c.bold(`ckpt demo: ${r.runtime.name} ${r.runtime.version}, CRIU ${m.criuVersion}, kernel ${m.kernelRelease}`),
    ...renderTable([
      ["run", r.name, humanDuration(r.steps.run)],
      ["checkpoint", `${(m.imagesBytes / 1048576).toFixed(1)} MiB of images, ${m.tasks.length} processes, frozen ${(m.criuStats.frozenTimeUs / 1000).toFixed(0)} ms`, humanDuration(r.steps.checkpoint)],
      ["restore", `--time-mode continue, after ${humanDuration(r.restore.downtimeNs)} down`, humanDuration(r.steps.restore)],
      ["exec", "readlink /proc/self/ns/time; cut -d' ' -f1 /proc/uptime", humanDuration(r.steps.exec)],
    ], { indent: "  ", alignRight: [2] }),
    "",
    c.bold("Time namespaces"),
    `  host             time:[${r.timeNamespaces.host}]`,
    `  PID 1            time:[${r.timeNamespaces.pid1}]  offsets monotonic ${formatDurationNs(ns.offsets?.monotonicNs ?? 0n)}, boottime ${formatDurationNs(ns.offsets?.boottimeNs ?? 0n)}`,
    `  exec'd process   time:[${r.timeNamespaces.exec}]  ${same ? c.green("the same namespace: one clock") : c.red("a different namespace: two clocks!")}`,
    "",
    c.bold("Clocks (uptime, seconds since boot as each process sees it)"),
    `  host             ${r.uptimeSeconds.host.toFixed(2)}`,
    `  PID 1 (its log)  ${r.uptimeSeconds.pid1Log?.toFixed(2) ?? "?"}   the container's clocks resumed where they stopped`,
    `  exec'd process   ${r.uptimeSeconds.exec.toFixed(2)}`,
    "",
    `Without ckpt, \`${r.runtime.name} exec\` ${r.runtime.name === "runc" ? "(before 1.2.7) would read the host's clock here, and the next checkpoint of a daemon started that way would not restore." : "joins the namespace too; ckpt checks it on every checkpoint."}`,
    "The demo container and its checkpoint have been removed (keep them with --keep).",
  ];
  process.stdout.write(`${lines.join("\n")}\n`);
}

