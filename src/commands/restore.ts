// `ckpt restore [-n NEW] [--runtime R] [--time-mode auto|host|continue|suspend] NAME|DIR`
import { formatDurationNs } from "../clock/timespec.ts";
import type { TimeMode } from "../clock/restore-plan.ts";
import { openStore } from "../container/context.ts";
import type { GlobalOptions } from "../global-options.ts";
import { colors } from "../output/color.ts";
import { printJson } from "../output/json.ts";
import { humanDuration } from "../output/time.ts";
import { restoreContainer, type RestoreResult } from "../restore/restore.ts";
import type { RuntimeName } from "../runtimes/runtime.ts";

interface RestoreOptions extends GlobalOptions {
  name?: string;
  timeMode: TimeMode;
  tcpEstablished?: boolean;
  fileLocks?: boolean;
}

export async function restoreCommand(source: string, options: RestoreOptions): Promise<void> {
  const result = await restoreContainer(openStore(options), {
    source,
    newName: options.name,
    runtime: options.runtime as RuntimeName | undefined,
    timeMode: options.timeMode,
    tcpEstablished: options.tcpEstablished === true,
    fileLocks: options.fileLocks === true,
  });
  for (const w of result.plan.warnings) process.stderr.write(`ckpt: warning: ${w}\n`);
  if (options.json) printJson(toJson(result));
  else render(result, options);
}

export function toJson(r: RestoreResult) {
  return {
    name: r.record.name,
    id: r.record.id,
    runtime: r.record.runtime,
    pid: r.pid,
    checkpoint: r.checkpoint,
    timeMode: r.plan.mode,
    clockPlan: r.plan.kind,
    reason: r.plan.reason,
    timeNamespace: { inode: r.timeNamespace.inode, host: r.timeNamespace.host, offsetsNs: r.timeNamespace.offsets },
    downtimeNs: r.downtimeNs,
    durationNs: r.durationNs,
    warnings: r.plan.warnings,
  };
}

function render(r: RestoreResult, options: GlobalOptions): void {
  const c = colors(options);
  const ns = r.timeNamespace;
  const lines = [
    `${c.green("restored")} ${c.bold(r.record.name)} in ${humanDuration(r.durationNs)} (PID ${r.pid}, ${r.record.runtime})`,
    `  from:           ${r.checkpoint}`,
    `  clocks:         ${r.plan.mode === "auto" ? `auto -> ${r.plan.kind === "host-namespace" ? "host" : "continue"}` : r.plan.mode}: ${r.plan.reason}`,
    `  time namespace: ${ns.host ? "the host's" : `its own (${ns.inode})`}${ns.offsets && !ns.host ? `, offsets monotonic ${formatDurationNs(ns.offsets.monotonicNs)}, boottime ${formatDurationNs(ns.offsets.boottimeNs)}` : ""}`,
    `  downtime:       ${humanDuration(r.downtimeNs)} since the checkpoint`,
    c.dim(`  run commands on its clock with: ckpt exec ${r.record.name} -- CMD`),
  ];
  process.stdout.write(`${lines.join("\n")}\n`);
}
