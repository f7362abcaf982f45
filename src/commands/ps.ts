// `ckpt ps [-a] [--json]`
import { containerPid, containerStatus, isActive } from "../container/status.ts";
import { openStore, runtimeFor } from "../container/context.ts";
import type { GlobalOptions } from "../global-options.ts";
import { printJson } from "../output/json.ts";
import { renderTable } from "../output/table.ts";
import { humanAge, rfc3339Nano } from "../output/time.ts";

interface PsOptions extends GlobalOptions {
  all?: boolean;
}

export async function psCommand(options: PsOptions): Promise<void> {
  const store = openStore(options);
  const records = await store.list();
  const rows = await Promise.all(
    records.map(async (record) => {
      const state = await runtimeFor(store, record.runtime, record.runtimePath).state(record.id).catch(() => null);
      const createdAtNs = BigInt(record.createdAtNs);
      return {
        name: record.name,
        id: record.id,
        runtime: record.runtime,
        status: containerStatus(record, state),
        pid: containerPid(state),
        createdAt: rfc3339Nano(createdAtNs),
        createdAtNs,
        bundle: record.sourceBundle,
        restoredFrom: record.restoredFrom,
      };
    }),
  );
  const shown = options.all ? rows : rows.filter((r) => isActive(r.status));
  if (options.json) {
    printJson(shown);
    return;
  }
  const now = BigInt(Date.now()) * 1_000_000n;
  const table = [["CONTAINER ID", "NAME", "RUNTIME", "STATUS", "PID", "CREATED"], ...shown.map((r) => [r.id.slice(0, 12), r.name, r.runtime, r.status, r.pid === null ? "-" : String(r.pid), humanAge(r.createdAtNs, now)])];
  process.stdout.write(`${renderTable(table).join("\n")}\n`);
}
