// Retention: reads what the store holds (checkpoints and the leftovers of operations) with
// what protects each, hands it to the pure planner (prune-plan.ts), and removes what the
// plan says, never through a mount.
import { existsSync } from "node:fs";
import { readdir, rm, stat } from "node:fs/promises";
import { join, resolve } from "node:path";
import { parseStagingName, stagingParents, stagingRootTag } from "../archive/staging.ts";
import { CkptError, ExitCode } from "../errors.ts";
import { refuseWhileMounted } from "../host/mounts.ts";
import { readJournal } from "../recovery/journal.ts";
import type { ContainerStore } from "../store/container-store.ts";
import { isContainerName } from "../store/names.ts";
import { stampNs } from "./checkpoint-store.ts";
import { holdsCompleteDump } from "./checkpoint-dir.ts";
import { leftoverInUse, lastChangeMs, readProcessHolds, type ProcessHolds } from "./leftover-owner.ts";
import { readManifest } from "./manifest.ts";
import { planPrune, type PruneDecision, type PrunePolicy, type StoreEntry } from "./prune-plan.ts";

const ENTRY = /^(\d{8}T\d{6}\.\d{9}Z)(\.partial|\.failed|\.work)?$/;

export interface EntryScope {
  // The containers whose checkpoints are read; null: every container's, and staging.
  names: string[] | null;
  // Whether a recent change counts as a sign of an owner (see leftover-owner.ts).
  recentChangeMeansInUse?: boolean;
}

// What the store holds, each entry with what protects it and whether it may be in use.
export async function readStoreEntries(store: ContainerStore, scope: EntryScope): Promise<StoreEntry[]> {
  const layout = store.layout;
  const protectors = await readProtectors(store);
  let scanned: Promise<ProcessHolds> | undefined;
  const holds = () => (scanned ??= readProcessHolds());
  const nowMs = Date.now();
  const recent = scope.recentChangeMeansInUse ?? true;
  const names = scope.names ?? (await readdir(layout.checkpointsDir()).catch(() => [] as string[])).filter(isContainerName).sort();
  const entries: StoreEntry[] = [];
  for (const name of names) {
    const base = layout.containerCheckpointsDir(name);
    const found: StoreEntry[] = [];
    for (const dirName of (await readdir(base).catch(() => [] as string[])).sort()) {
      const m = ENTRY.exec(dirName);
      const atNs = m === null ? null : stampNs(m[1]!);
      if (m === null || atNs === null) continue;
      const path = join(base, dirName);
      const suffix = m[2];
      const kind = suffix === ".partial" ? "partial" : suffix === ".failed" ? "failed" : suffix === ".work" ? "work" : (await readManifest(path).then(() => true, () => false)) ? "checkpoint" : "unreadable";
      const leftover = kind !== "checkpoint";
      found.push({
        path,
        kind,
        container: name,
        atNs,
        completeDump: kind === "partial" && holdsCompleteDump(path),
        inUse: await leftoverInUse({ path, holds, nowMs, recentChangeMeansInUse: recent && leftover }),
        protectedBy: protectors.of(path),
      });
    }
    // A damaged record cannot say which checkpoint is the container's state: its newest
    // checkpoint and every partial dump stay.
    if (protectors.damaged.has(name)) {
      const newest = found.filter((e) => e.kind === "checkpoint").at(-1);
      for (const e of found) if (e.protectedBy === null && (e === newest || e.kind === "partial")) e.protectedBy = `the record of ${name} is damaged: this may be its only state`;
    }
    entries.push(...found);
  }
  if (scope.names === null) entries.push(...(await readStagingEntries(store, holds, nowMs, protectors)));
  return entries;
}

interface Protectors {
  of(path: string): string | null;
  damaged: Set<string>;
}

// What must stay: the checkpoints the recovery journal names (restore --all restores
// them), each checkpointed container's state (its record's checkpointedTo), and what
// belongs to a container whose record is damaged. A damaged journal stops the prune: it
// cannot tell what it protects.
async function readProtectors(store: ContainerStore): Promise<Protectors> {
  const reasons = new Map<string, string>();
  const journalPath = store.layout.recoveryJournal();
  if (existsSync(journalPath)) {
    const journal = await readJournal(journalPath, (name) => store.layout.containerCheckpointsDir(name));
    for (const e of journal.entries) if (e.checkpoint !== null) reasons.set(resolve(e.checkpoint), `named by the recovery journal (${e.name}: ${e.state}); restore --all needs it`);
  }
  const damaged = new Set<string>();
  for (const entry of await store.entries()) {
    if ("damage" in entry) damaged.add(entry.name);
    else if (entry.record.checkpointedTo !== null) reasons.set(resolve(entry.record.checkpointedTo), `the state of the checkpointed container ${entry.name} (ckpt restore ${entry.name} brings it back)`);
  }
  return {
    damaged,
    // Its own reason, or that of a protected path inside it (a staging directory holding
    // the dump a container's record names).
    of: (path) => {
      const dir = resolve(path);
      for (const [p, why] of reasons) if (p === dir || p.startsWith(`${dir}/`)) return why;
      return null;
    },
  };
}

// This root's staging directories: all of ROOT/staging, and those on tmpfs whose name
// carries this root's tag (tmpfs is shared by every root on the host).
async function readStagingEntries(store: ContainerStore, holds: () => Promise<ProcessHolds>, nowMs: number, protectors: Protectors): Promise<StoreEntry[]> {
  const parents = stagingParents(store.layout.root);
  const tag = stagingRootTag(store.layout.root);
  const candidates = [
    ...(await readdir(parents.disk).catch(() => [] as string[])).map((n) => ({ dir: parents.disk, n, staging: parseStagingName(n) })),
    ...(await readdir(parents.tmpfs).catch(() => [] as string[])).map((n) => ({ dir: parents.tmpfs, n, staging: parseStagingName(n) })).filter((c) => c.staging?.rootTag === tag),
  ];
  const entries: StoreEntry[] = [];
  for (const { dir, n, staging } of candidates) {
    if (staging === null) continue;
    const path = join(dir, n);
    if (!(await stat(path).catch(() => null))?.isDirectory()) continue;
    const children = await readdir(path).catch(() => [] as string[]);
    entries.push({
      path,
      kind: "staging",
      container: null,
      atNs: BigInt(Math.round(await lastChangeMs(path))) * 1_000_000n,
      purpose: staging.purpose,
      completeDump: staging.purpose === "export" && children.some((c) => holdsCompleteDump(join(path, c))),
      inUse: await leftoverInUse({ path, staging, holds, nowMs, recentChangeMeansInUse: true }),
      protectedBy: protectors.of(path),
    });
  }
  return entries;
}

export interface PruneOutcome {
  decisions: PruneDecision[];
  removed: string[];
  failed: { path: string; error: CkptError }[];
}

// Plans and, unless `dryRun`, removes. A removal that fails is reported, the rest go on.
export async function prune(store: ContainerStore, scope: EntryScope, policy: PrunePolicy, dryRun: boolean): Promise<PruneOutcome> {
  const decisions = planPrune(await readStoreEntries(store, scope), policy);
  const removed: string[] = [];
  const failed: PruneOutcome["failed"] = [];
  if (!dryRun) {
    for (const d of decisions.filter((x) => x.action === "remove")) {
      try {
        await removeStoreEntry(d.entry.path);
        removed.push(d.entry.path);
      } catch (error) {
        failed.push({ path: d.entry.path, error: error instanceof CkptError ? error : new CkptError(ExitCode.internal, (error as Error).message) });
      }
    }
  }
  return { decisions, removed, failed };
}

// Removes one checkpoint or leftover: what a dead CRIU left mounted below it is unmounted
// first, and nothing is deleted while anything stays mounted there.
export async function removeStoreEntry(path: string): Promise<void> {
  await refuseWhileMounted(path, path);
  await rm(path, { recursive: true, force: true });
}

// The `retain` setting, after a checkpoint: the newest `keep` complete checkpoints of each
// of `names` stay, with the failed dumps newer than the oldest of them; leftovers are left
// to `ckpt checkpoints prune`. Never fails the checkpoint: what it could not do is a warning.
export async function applyRetention(store: ContainerStore, names: string[], keep: number | null): Promise<{ removed: string[]; warnings: string[] }> {
  if (keep === null || names.length === 0) return { removed: [], warnings: [] };
  try {
    const outcome = await prune(store, { names }, { keep, olderThanNs: null, partial: false, failed: "superseded", leftovers: false }, false);
    return { removed: outcome.removed, warnings: outcome.failed.map((f) => `retain: could not remove ${f.path}: ${f.error.message}`) };
  } catch (error) {
    return { removed: [], warnings: [`retain: nothing was removed: ${(error as Error).message}`] };
  }
}
