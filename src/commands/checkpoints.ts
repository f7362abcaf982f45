// `ckpt checkpoints [--json]`: what the checkpoint store holds; `checkpoints rm` and
// `checkpoints prune`: retention.
import { basename } from "node:path";
import { listAllCheckpoints } from "../checkpoint/checkpoint-store.ts";
import type { PruneDecision } from "../checkpoint/prune-plan.ts";
import { openStore } from "../container/context.ts";
import { parseDurationMs } from "../config/duration.ts";
import { CkptError, ExitCode, ExitError } from "../errors.ts";
import type { GlobalOptions } from "../global-options.ts";
import { errorJson, errorLines } from "../output/error-text.ts";
import { printJson } from "../output/json.ts";
import { renderTable } from "../output/table.ts";
import { rfc3339Nano, timestamp } from "../output/time.ts";
import { validateContainerName } from "../store/names.ts";

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

interface RmOptions extends GlobalOptions {
  all?: boolean;
}

// `ckpt checkpoints rm NAME@STAMP...` (STAMP as `ckpt checkpoints` shows it, or with its
// .partial, .failed or .work suffix), or `--all NAME...`: every checkpoint and leftover of
// each. What the recovery journal names, a checkpointed container's state and what a
// running command holds are refused (exit 9); every target is tried.
export async function checkpointsRmCommand(targets: string[], options: RmOptions): Promise<void> {
  const { readStoreEntries, removeStoreEntry } = await import("../checkpoint/prune.ts");
  const store = openStore(options);
  const removed: string[] = [];
  const failed: { target: string; error: CkptError }[] = [];
  const fail = (target: string, error: CkptError) => {
    failed.push({ target, error });
    if (!options.json) process.stderr.write(`${errorLines(error).join("\n")}\n`);
  };
  for (const target of targets) {
    try {
      const { name, stamp } = parseTarget(target, options.all === true);
      const entries = await readStoreEntries(store, { names: [name] });
      const chosen = stamp === null ? entries : entries.filter((e) => basename(e.path) === stamp);
      if (chosen.length === 0) {
        throw new CkptError(ExitCode.notFound, stamp === null ? `no checkpoints of "${name}"` : `no checkpoint ${target}`, { hint: "list them with: ckpt checkpoints (leftovers: ckpt checkpoints prune --dry-run)" });
      }
      for (const e of chosen) {
        const why = e.protectedBy ?? (e.inUse === null ? null : `in use: ${e.inUse}`);
        if (why !== null) {
          fail(`${name}@${basename(e.path)}`, new CkptError(ExitCode.conflict, `refusing to remove ${e.path}: ${why}`));
          continue;
        }
        await removeStoreEntry(e.path);
        removed.push(e.path);
        if (!options.json) process.stdout.write(`${e.path}\n`);
      }
    } catch (error) {
      if (!(error instanceof CkptError)) throw error;
      fail(target, error);
    }
  }
  if (options.json) printJson({ removed, failed: failed.map((f) => ({ target: f.target, ...errorJson(f.error) })) });
  if (failed.length > 0) throw new ExitError(failed[0]!.error.exitCode);
}

// NAME@STAMP, or NAME with --all; a name is never a path.
function parseTarget(target: string, all: boolean): { name: string; stamp: string | null } {
  const at = target.indexOf("@");
  if (all) {
    if (at !== -1) throw new CkptError(ExitCode.usage, `--all takes container names, not ${target}`);
    return { name: validateContainerName(target), stamp: null };
  }
  if (at === -1) {
    throw new CkptError(ExitCode.usage, `${target}: say which checkpoint (NAME@STAMP), or give --all to remove every checkpoint of ${target}`, { hint: "ckpt checkpoints lists them; ckpt checkpoints prune --keep N keeps the newest N" });
  }
  const stamp = target.slice(at + 1);
  if (!/^\d{8}T\d{6}\.\d{9}Z(\.partial|\.failed|\.work)?$/.test(stamp)) {
    throw new CkptError(ExitCode.usage, `${target}: "${stamp}" is not a checkpoint stamp (like 20261122T080438.949067023Z, optionally with .partial, .failed or .work)`);
  }
  return { name: validateContainerName(target.slice(0, at)), stamp };
}

interface PruneOptions extends GlobalOptions {
  keep?: string;
  olderThan?: string;
  partial?: boolean;
  dryRun?: boolean;
}

// `ckpt checkpoints prune [--keep N] [--older-than D] [--partial] [--dry-run] [NAME...]`
export async function checkpointsPruneCommand(names: string[], options: PruneOptions): Promise<void> {
  const { prune } = await import("../checkpoint/prune.ts");
  for (const name of names) validateContainerName(name);
  let keep: number | null;
  if (options.keep !== undefined) {
    keep = /^\d+$/.test(options.keep) && Number(options.keep) >= 1 ? Number(options.keep) : Number.NaN;
    if (Number.isNaN(keep)) throw new CkptError(ExitCode.usage, `--keep ${options.keep}: give a whole number of at least 1`, { hint: "to remove every checkpoint of a container: ckpt checkpoints rm --all NAME" });
  } else {
    // Without --keep: the retain setting, unless --older-than alone says what goes.
    keep = options.olderThan === undefined ? options.settings.retain.value : null;
  }
  let olderThanNs: bigint | null = null;
  if (options.olderThan !== undefined) {
    const ms = parseDurationMs(options.olderThan);
    if (ms === null) throw new CkptError(ExitCode.usage, `--older-than ${options.olderThan}: not a duration (like 90m, 12h, 7d)`);
    olderThanNs = (BigInt(Date.now()) - BigInt(ms)) * 1_000_000n;
  }
  const store = openStore(options);
  const dryRun = options.dryRun === true;
  const outcome = await prune(store, { names: names.length === 0 ? null : names }, { keep, olderThanNs, partial: options.partial === true, failed: "all", leftovers: true }, dryRun);
  const remove = outcome.decisions.filter((d) => d.action === "remove");
  const kept = outcome.decisions.filter((d) => d.action === "keep");
  if (options.json) {
    printJson({ dryRun, keep, olderThan: olderThanNs === null ? null : timestamp(olderThanNs), removed: outcome.removed, remove: remove.map(decisionJson), kept: kept.map(decisionJson), failed: outcome.failed.map((f) => ({ path: f.path, ...errorJson(f.error) })) });
  } else {
    // Every removal, and what stays for a reason worth knowing (a leftover, something in
    // use or protected); checkpoints kept by the policy are not listed.
    const worthSaying = kept.filter((d) => d.entry.kind !== "checkpoint" || d.entry.protectedBy !== null || d.entry.inUse !== null);
    const failedPaths = new Set(outcome.failed.map((f) => f.path));
    const rows = [
      ...remove.map((d) => [dryRun ? "would remove" : failedPaths.has(d.entry.path) ? "failed" : "removed", d]),
      ...worthSaying.map((d) => ["kept", d]),
    ] as [string, PruneDecision][];
    if (rows.length > 0) {
      const table = [["ACTION", "CONTAINER", "KIND", "DIRECTORY", "WHY"], ...rows.map(([action, d]) => [action, d.entry.container ?? "-", d.entry.kind, d.entry.path, d.reason])];
      process.stdout.write(`${renderTable(table).join("\n")}\n`);
    }
    process.stdout.write(`${dryRun ? `${remove.length} would be removed (--dry-run: nothing was)` : `${outcome.removed.length} removed`}, ${kept.length} kept${keep === null ? "" : ` (the ${keep} newest checkpoints of each container stay)`}\n`);
    for (const f of outcome.failed) process.stderr.write(`${errorLines(f.error).join("\n")}\n`);
  }
  if (outcome.failed.length > 0) throw new ExitError(outcome.failed[0]!.error.exitCode);
}

function decisionJson(d: PruneDecision) {
  return { path: d.entry.path, container: d.entry.container, kind: d.entry.kind, at: timestamp(d.entry.atNs), completeDump: d.entry.completeDump, reason: d.reason };
}
