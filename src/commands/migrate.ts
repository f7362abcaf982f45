// `ckpt migrate NAME --to TARGET [--json]`
import { openContainer } from "../container/context.ts";
import { CkptError, ExitCode } from "../errors.ts";
import type { GlobalOptions } from "../global-options.ts";
import { migrateContainer } from "../migrate/migrate.ts";
import { colors } from "../output/color.ts";
import { printJson } from "../output/json.ts";
import { humanDuration } from "../output/time.ts";

interface MigrateOptions extends GlobalOptions {
  to: string;
  lazy?: boolean;
  preDump?: boolean;
  tcpEstablished?: boolean;
  fileLocks?: boolean;
  allowProcessLoss?: boolean;
}

export async function migrateCommand(name: string, options: MigrateOptions): Promise<void> {
  if (options.preDump) {
    throw new CkptError(ExitCode.hostNotReady, "pre-copy migration (--pre-dump) needs the kernel to track dirty memory, and this kernel does not", {
      evidence: ["CONFIG_MEM_SOFT_DIRTY is not set: `criu check --feature mem_dirty_track` fails"],
      hint: "migrate without --pre-dump (the container is frozen for the whole copy)",
    });
  }
  if (options.lazy) {
    throw new CkptError(ExitCode.usage, "--lazy (post-copy through CRIU's page server) is not built yet", { hint: "migrate without --lazy" });
  }
  const r = await migrateContainer(await openContainer(options, name), { target: options.to, tcpEstablished: options.tcpEstablished === true, fileLocks: options.fileLocks === true, allowProcessLoss: options.allowProcessLoss === true });
  if (options.json) {
    printJson({ name: r.name, target: r.target, downtimeNs: r.downtimeNs, durationNs: r.durationNs, frozenUs: r.export.checkpoint.manifest.criuStats.frozenTimeUs, tarBytes: r.export.tarBytes, restored: r.restored });
    return;
  }
  const c = colors(options);
  process.stdout.write(
    `${c.green("migrated")} ${c.bold(r.name)} to ${r.target} in ${humanDuration(r.durationNs)}\n` +
      `  downtime:  ${humanDuration(r.downtimeNs)} (from the freeze to running on the target)\n` +
      `  streamed:  ${(r.export.tarBytes / 1048576).toFixed(1)} MiB of tar, zstd, every file's SHA-256 verified by the target\n` +
      `  on target: PID ${String(r.restored["pid"])}, time mode ${String(r.restored["timeMode"])}; the source container is removed\n`,
  );
}
