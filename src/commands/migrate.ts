// `ckpt migrate NAME --to TARGET [--json]`
import { openRecovered } from "./open-recovered.ts";
import { openStore } from "../container/context.ts";
import { lockContainer } from "../store/locks.ts";
import { CkptError, ExitCode } from "../errors.ts";
import type { GlobalOptions } from "../global-options.ts";
import { migrateContainer } from "../operations/migrate.ts";
import { colors } from "../output/color.ts";
import { printJson } from "../output/json.ts";
import { humanDuration } from "../output/time.ts";
import { parsePageServer, refuseUnservableLazyPages, type PageServerAddress } from "../migrate/page-server.ts";
import { selectSigningKey } from "../signing/key-store.ts";

interface MigrateOptions extends GlobalOptions {
  to: string;
  lazy?: boolean;
  preDump?: boolean;
  tcpEstablished?: boolean;
  fileLocks?: boolean;
  tcpClose?: boolean;
  allow?: string[];
  allowProcessLoss?: boolean;
  pageServer?: string;
  ignoreRootfs?: boolean;
  // --sign NAME, --no-sign (false), or neither.
  sign?: string | false;
}

export async function migrateCommand(name: string, options: MigrateOptions): Promise<void> {
  if (options.preDump) {
    throw new CkptError(ExitCode.hostNotReady, "pre-copy migration (--pre-dump) needs the kernel to track dirty memory, and this kernel does not", {
      evidence: ["CONFIG_MEM_SOFT_DIRTY is not set: `criu check --feature mem_dirty_track` fails"],
      hint: "migrate without --pre-dump (the container is frozen for the whole copy)",
    });
  }
  if (options.pageServer !== undefined && !options.lazy) throw new CkptError(ExitCode.usage, "--page-server goes with --lazy");
  let lazy: PageServerAddress | undefined;
  if (options.lazy) {
    if (options.pageServer === undefined) {
      throw new CkptError(ExitCode.usage, "--lazy needs --page-server ADDR[:PORT]: the address of this host that the target fetches the memory from", { hint: "ckpt migrate NAME --lazy --page-server 192.0.2.1 --to 'ssh host2 ckpt'" });
    }
    lazy = parsePageServer(options.pageServer);
  }
  // The source's lock, held until ckpt exits: the whole migration, a --lazy one's page
  // transfer included.
  await lockContainer(openStore(options).layout, name, { timeoutMs: options.lockTimeoutMs });
  const ctx = await openRecovered(options, name);
  if (lazy !== undefined) {
    if (!ctx.runtime.adapter.lazyPages) {
      throw new CkptError(ExitCode.usage, `"${name}" runs on ${ctx.record.runtime}, which cannot checkpoint lazily`, { evidence: [`${ctx.record.runtime} checkpoint has no --lazy-pages or --page-server`], hint: "migrate it without --lazy" });
    }
    await refuseUnservableLazyPages();
  }
  const signer = await selectSigningKey(ctx.store.layout, options.sign);
  const compression = options.settings.compress.value;
  const r = await migrateContainer(ctx, {
    target: options.to,
    tcpEstablished: options.tcpEstablished === true,
    fileLocks: options.fileLocks === true,
    tcpClose: options.tcpClose === true,
    allow: options.allow ?? [],
    allowProcessLoss: options.allowProcessLoss === true,
    compression,
    ignoreRootfs: options.ignoreRootfs === true,
    signer,
    progressTimeoutMs: options.settings.progressTimeout.value,
    ...(lazy ? { lazy } : {}),
  });
  if (options.json) {
    printJson({ name: r.name, target: r.target, lazy: lazy !== undefined, downtimeNs: r.downtimeNs, durationNs: r.durationNs, pageTransferNs: r.pageTransferNs, frozenUs: r.export.checkpoint.manifest.criuStats.frozenTimeUs, tarBytes: r.export.tarBytes, signedBy: r.export.signedBy, targetTrustsSigner: r.targetTrustsSigner, restored: r.restored });
    return;
  }
  const c = colors(options);
  process.stdout.write(
    `${c.green("migrated")} ${c.bold(r.name)} to ${r.target} in ${humanDuration(r.durationNs)}\n` +
      `  downtime:  ${humanDuration(r.downtimeNs)} (from the freeze to running on the target)\n` +
      `  streamed:  ${(r.export.tarBytes / 1048576).toFixed(1)} MiB of tar, ${compression === "none" ? "uncompressed" : compression}${options.ignoreRootfs ? ", without the root filesystem" : ""}, every file's SHA-256 verified by the target\n` +
      `  signature: ${describeMigrationSignature(r.export.signedBy, r.restored["signature"])}\n` +
      (r.pageTransferNs === null ? "" : `  memory:    served from ${options.pageServer} on demand, the last page ${humanDuration(r.pageTransferNs)} after the start there\n`) +
      `  on target: PID ${String(r.restored["pid"])}, time mode ${String(r.restored["timeMode"])}; the source container is removed\n`,
  );
}

// What the target made of the stream's signature (its restore's JSON says).
function describeMigrationSignature(signedBy: { name: string; fingerprint: string } | null, reported: unknown): string {
  if (signedBy === null) return "unsigned: the target treated it as a foreign checkpoint";
  const status = typeof reported === "object" && reported !== null ? (reported as { status?: unknown }).status : undefined;
  const verdict = status === "trusted" ? "trusted by the target: its spec and restart policy were kept" : status === undefined ? "the target did not say whether it trusts it" : `${String(status)} on the target: its spec went through the import policy`;
  return `signed by ${signedBy.name} (${signedBy.fingerprint}), ${verdict}`;
}
