// `ckpt repair --unify-timens CHECKPOINT [-o OUT]`
import { formatDurationNs } from "../clock/timespec.ts";
import { openStore } from "../container/context.ts";
import { CkptError, ExitCode } from "../errors.ts";
import type { GlobalOptions } from "../global-options.ts";
import { colors } from "../output/color.ts";
import { printJson } from "../output/json.ts";
import { repairUnifyTimens } from "../repair/repair.ts";

interface RepairOptions extends GlobalOptions {
  unifyTimens?: boolean;
  output?: string;
}

export async function repairCommand(target: string, options: RepairOptions): Promise<void> {
  if (options.unifyTimens !== true) throw new CkptError(ExitCode.usage, "say what to repair: --unify-timens", { hint: "ckpt repair --unify-timens CHECKPOINT -o OUT" });
  const r = await repairUnifyTimens(openStore(options), target, options.output);
  if (options.json) {
    printJson({ source: r.source, output: r.output, repaired: r.output !== null, rootNamespaceId: r.rootNamespaceId, moved: r.moved, clocks: r.plan === null ? null : { monotonicNs: r.plan.clocks.monotonicNs, boottimeNs: r.plan.clocks.boottimeNs, basis: r.plan.basis, forwardNs: r.plan.forwardNs, note: r.plan.note } });
    return;
  }
  const c = colors(options);
  if (r.output === null || r.plan === null) {
    process.stdout.write(`${c.green("nothing to repair")}: every task of ${r.source} is in PID 1's time namespace (${r.rootNamespaceId}); nothing was written\n`);
    return;
  }
  const lines = [
    `${c.green("repaired")} ${r.source}`,
    `  written to:     ${r.output} (the original is unchanged)`,
    ...r.moved.map((m) => `  moved:          PID ${m.pid} (${m.command}) from time namespace ${m.fromNamespaceId} to PID 1's (${r.rootNamespaceId})`),
    `  clocks:         monotonic ${formatDurationNs(r.plan.clocks.monotonicNs)}, boottime ${formatDurationNs(r.plan.clocks.boottimeNs)} (${r.plan.basis})`,
    `  why:            ${r.plan.note}`,
    c.dim(`  restore it with: ckpt restore ${r.output}`),
  ];
  process.stdout.write(`${lines.join("\n")}\n`);
}
