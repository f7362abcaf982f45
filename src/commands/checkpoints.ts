// `ckpt checkpoints [--json]`: what the checkpoint store holds.
import { listAllCheckpoints } from "../checkpoint/checkpoint-store.ts";
import { openStore } from "../container/context.ts";
import type { GlobalOptions } from "../global-options.ts";
import { printJson } from "../output/json.ts";
import { renderTable } from "../output/table.ts";
import { rfc3339Nano, timestamp } from "../output/time.ts";

export async function checkpointsCommand(options: GlobalOptions): Promise<void> {
  const all = await listAllCheckpoints(openStore(options).layout);
  const rows = all.map(({ dir, manifest: m }) => ({
    name: m.container.name,
    checkpoint: dir,
    checkpointedAt: timestamp(BigInt(m.checkpointedAtNs)),
    runtime: m.runtime.name,
    imagesBytes: m.imagesBytes,
    tasks: m.tasks.length,
    timeNamespace: m.timeNamespace.pid1InHostNamespace ? "host" : "own",
  }));
  if (options.json) {
    printJson(rows);
    return;
  }
  const table = [["NAME", "CHECKPOINTED", "RUNTIME", "SIZE", "TASKS", "TIMENS", "DIRECTORY"], ...rows.map((r) => [r.name, rfc3339Nano(r.checkpointedAt.ns).slice(0, 23) + "Z", r.runtime, `${(r.imagesBytes / 1048576).toFixed(1)}M`, String(r.tasks), r.timeNamespace, r.checkpoint])];
  process.stdout.write(`${renderTable(table).join("\n")}\n`);
}
