// Recovery: an operation whose ckpt was killed (its intent record outlives its owner) is
// finished or undone before any other command touches the container, by rules that lose
// nothing and never roll back silently:
//   - a dump CRIU completed becomes the newest checkpoint (an export's, moved from its
//     volatile staging into the store); an incomplete one leaves the container running,
//     thawed if it was frozen;
//   - a restore CRIU finished under a live monitor is adopted; a container left without
//     its monitor, or a half-made one, is ended, its checkpoint kept, and that is said;
//   - staging directories and temporary archives of dead owners are removed.
// planRecovery decides from the facts; applyRecovery carries the plan out.
import { existsSync } from "node:fs";
import { cp, readdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { basename, join } from "node:path";
import { tmpdir } from "node:os";
import { setTimeout as sleep } from "node:timers/promises";
import { CheckpointFiles } from "../checkpoint/checkpoint-dir.ts";
import { dumpCompleted, recordCheckpoint, type ManifestDraft } from "./checkpoint.ts";
import { runtimeFor } from "../container/context.ts";
import { containerStatus, type ContainerStatus } from "../container/status.ts";
import { unmountBelow } from "../host/mounts.ts";
import { releaseContainerNetwork } from "../network/container-network.ts";
import { isSameProcess } from "../proc/process.ts";
import { liveMonitor } from "../container/monitor-process.ts";
import { releaseHold } from "../restart/restart-state.ts";
import { AFTER_RESTORE_SPEC, finishRestore } from "./restore.ts";
import type { ContainerRecord } from "../store/container-record.ts";
import type { ContainerStore } from "../store/container-store.ts";
import { parseStagingName, stagingParents, stagingRootTag } from "../archive/staging.ts";
import { intentPath, ownerAlive, readIntent, removeIntent, type Intent } from "./intent.ts";
import { CkptError, ExitCode } from "../errors.ts";
import { DEFAULT_LOCK_TIMEOUT_MS, LockBusyError, withContainerLock } from "../store/locks.ts";

// What recovery found and did, for the command to say.
export interface RecoveryReport {
  name: string;
  operation: Intent["operation"] | null;
  phase: Intent["phase"] | null;
  outcome: RecoveryPlan["kind"];
  // One sentence an operator can act on: what happened, what state the container is in.
  said: string;
}

// The facts recovery weighs, gathered by gatherFacts.
export interface RecoveryFacts {
  // The dump in the intent's partial directory (or staging) is complete (CRIU said so).
  dumpComplete: boolean;
  // A recorded checkpoint (STAMP, with its manifest) the operation already made, not yet moved.
  recordedCheckpoint: string | null;
  // The container as the runtime sees it now.
  status: ContainerStatus;
  // The container's monitor (conmon) still runs.
  monitorAlive: boolean;
}

export type RecoveryPlan =
  | { kind: "record-dump" }          // a complete dump: the newest checkpoint
  | { kind: "keep-recorded" }        // an export's recorded checkpoint: into the store
  | { kind: "discard-dump" }         // an incomplete dump: the container runs on
  | { kind: "discard-dump-stopped" } // an incomplete dump of a container that no longer runs: say so
  | { kind: "adopt-restore" }        // the restored container runs under its monitor
  | { kind: "end-restore" };         // a half-made or unmonitored restore: ended, the checkpoint kept

// Pure: what to do with an interrupted operation.
export function planRecovery(intent: Intent, facts: RecoveryFacts): RecoveryPlan {
  const dump = intent.operation === "checkpoint" || intent.operation === "export" || intent.operation === "migrate";
  if (dump) {
    if (facts.recordedCheckpoint !== null) return { kind: "keep-recorded" };
    if ((intent.phase === "dumping" || intent.phase === "dumped" || intent.phase === "archiving") && facts.dumpComplete) return { kind: "record-dump" };
    return facts.status === "running" || facts.status === "paused" ? { kind: "discard-dump" } : { kind: "discard-dump-stopped" };
  }
  if ((intent.phase === "restoring" || intent.phase === "restored") && facts.status === "running" && facts.monitorAlive) return { kind: "adopt-restore" };
  return { kind: "end-restore" };
}

// Finishes or undoes the interrupted operation on `name`, if there is one whose owner is
// gone; returns what was done (null: nothing to recover, or its owner still runs).
export async function recoverContainer(store: ContainerStore, name: string, lockTimeoutMs?: number): Promise<RecoveryReport | null> {
  const first = await readIntent(store.layout, name).catch(() => ({ kind: "none" }) as const);
  if (first.kind === "none" || (first.kind === "intent" && (await ownerAlive(first.intent)))) return null;
  // Under the container's lock (this process's own, if it holds it already): never two
  // recoveries of one operation at once.
  return withContainerLock(store.layout, name, { timeoutMs: lockTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS }, () => recoverLocked(store, name));
}

async function recoverLocked(store: ContainerStore, name: string): Promise<RecoveryReport | null> {
  const reading = await readIntent(store.layout, name).catch(() => ({ kind: "none" }) as const);
  if (reading.kind === "none") return null;
  if (reading.kind === "damaged") {
    await removeIntent(store.layout, name);
    return { name, operation: null, phase: null, outcome: "end-restore", said: `the record of an interrupted operation on "${name}" was damaged (${reading.reason}) and was removed; check the container with ckpt ps -a` };
  }
  const intent = reading.intent;
  if (await ownerAlive(intent)) return null;
  const record = await store.find(name).catch(() => null);
  if (record === null) {
    await cleanOperationFiles(intent);
    // A restore or import under a name it claimed, killed before it wrote the record: what
    // it put in the directory (an unpacked root filesystem) is all there is, and nothing
    // runs from it (the monitor starts after the record). A record that exists but cannot
    // be read is not this case: that directory is never touched here.
    const claimed = (intent.operation === "restore" || intent.operation === "import") && !existsSync(store.layout.containerRecord(name));
    if (claimed && (await unmountBelow([store.layout.containerDir(name)]).catch(() => ["?"])).length === 0) {
      await rm(store.layout.containerDir(name), { recursive: true, force: true });
      return { name, operation: intent.operation, phase: intent.phase, outcome: "end-restore", said: `an interrupted ${intent.operation} of "${name}" (killed at its ${intent.phase} phase) had not written its container record; what it had made was removed${intent.operation === "import" ? " (the archive is untouched: import it again)" : ""}` };
    }
    await removeIntent(store.layout, name);
    return { name, operation: intent.operation, phase: intent.phase, outcome: "discard-dump", said: `an interrupted ${intent.operation} of "${name}" left no container record; its temporary files were removed` };
  }
  await waitForOrphanedRuntime(record, intent);
  const facts = await gatherFacts(store, record, intent);
  const plan = planRecovery(intent, facts);
  let said: string;
  try {
    said = await applyRecovery(store, record, intent, plan);
  } catch (error) {
    // Kept: the next command (or ckpt recover) tries again; nothing is guessed meanwhile.
    throw new CkptError(ExitCode.badCheckpoint, `could not finish the interrupted ${intent.operation} of "${name}" (${plan.kind}): ${error instanceof Error ? error.message : String(error)}`, {
      hint: `its record stays in ${intentPath(store.layout, name)}; ckpt recover ${name} tries again, and ckpt ps -a shows the container as interrupted meanwhile`,
    });
  }
  await removeIntent(store.layout, name);
  return { name, operation: intent.operation, phase: intent.phase, outcome: plan.kind, said };
}

async function gatherFacts(store: ContainerStore, record: ContainerRecord, intent: Intent): Promise<RecoveryFacts> {
  const runtime = runtimeFor(store, record.runtime, record.runtimePath);
  const status = containerStatus(record, await runtime.state(record.id).catch(() => null));
  const partial = intent.paths.partialDir;
  const dumpComplete = partial !== undefined && intent.paths.workDir !== undefined && existsSync(partial) && (await dumpCompleted({ partialDir: partial, workDir: intent.paths.workDir }));
  // Recorded: the manifest written and the rename to the final name done (in the store, or
  // in an export's staging); the partial directory is gone then.
  const recorded = intent.paths.finalDir !== undefined && existsSync(join(intent.paths.finalDir, "manifest.json")) ? intent.paths.finalDir : null;
  return { dumpComplete, recordedCheckpoint: recorded, status, monitorAlive: (await liveMonitor(store.layout, record.name)) !== null };
}

async function applyRecovery(store: ContainerStore, record: ContainerRecord, intent: Intent, plan: RecoveryPlan): Promise<string> {
  const layout = store.layout;
  const runtime = runtimeFor(store, record.runtime, record.runtimePath);
  const what = `an interrupted ${intent.operation} of "${record.name}" (killed at its ${intent.phase} phase)`;
  switch (plan.kind) {
    case "record-dump":
    case "keep-recorded": {
      let dir = intent.paths.finalDir!;
      if (plan.kind === "record-dump") {
        const draft = intent.manifestDraft as unknown as ManifestDraft;
        await recordCheckpoint(layout, record, draft, { partialDir: intent.paths.partialDir!, finalDir: dir, workDir: intent.paths.workDir! }, { keep: false, lazy: false });
      }
      // An export's checkpoint sits in staging (often tmpfs: gone at the next reboot).
      if (intent.paths.stagingDir !== undefined) {
        const kept = join(layout.containerCheckpointsDir(record.name), basename(dir));
        // An export --keep killed after its own copy into the store: that copy is complete.
        if (!existsSync(join(kept, "manifest.json"))) {
          await rm(`${kept}.partial`, { recursive: true, force: true });
          await cp(dir, `${kept}.partial`, { recursive: true });
          await rename(`${kept}.partial`, kept);
        }
        dir = kept;
      }
      // An export killed after the archive's rename: the archive is complete.
      const archived = await archiveCommitted(intent);
      const ended = !(intent.leaveRunning ?? false);
      const status = containerStatus(record, await runtime.state(record.id).catch(() => null));
      if (ended && status !== "running" && status !== "paused") {
        await store.save({ ...record, checkpointedTo: dir });
        await runtime.delete(record.id, true).catch(() => {});
        await releaseContainerNetwork(store, record).catch(() => {});
      } else {
        await thaw(store, record);
        await releaseHold(layout, record.name);
      }
      await cleanOperationFiles(intent);
      const unfinished = intent.paths.destination === undefined ? "" : intent.operation === "migrate" ? `; the stream to ${intent.paths.destination.replace(/ \(stream\)$/, "")} was cut` : archived ? `; the archive ${intent.paths.destination} was complete too (the export had finished writing it): restore from one of the two, not both` : `; the unfinished archive ${intent.paths.destination} was not written`;
      const where = intent.paths.stagingDir !== undefined ? `its checkpoint is kept in the store as ${basename(dir)}${unfinished}` : `the checkpoint ${basename(dir)} was complete and is now the newest`;
      const then = status === "running" || status === "paused" ? `"${record.name}" runs on` : `"${record.name}" is checkpointed: restore it with ckpt restore ${record.name}`;
      const migrate = intent.operation === "migrate" ? "; the migration's target may have started it too: check there (TARGET ps) before restoring here" : "";
      return `${what}: CRIU had finished the dump; ${where}; ${then}${migrate}`;
    }
    case "discard-dump":
    case "discard-dump-stopped": {
      const kept = await keepFailedDump(intent);
      // The record names what is left of its last checkpoint: restore refuses an older one.
      if (plan.kind === "discard-dump-stopped" && kept !== null && record.checkpointedTo === intent.paths.partialDir) await store.save({ ...record, checkpointedTo: kept });
      if (plan.kind === "discard-dump") {
        await thaw(store, record);
        await releaseHold(layout, record.name);
      }
      await cleanOperationFiles(intent);
      if (plan.kind === "discard-dump") return `${what}: the dump was not complete${kept ? ` (its log is kept in ${kept})` : ""}; "${record.name}" runs on, nothing was checkpointed`;
      return `${what}: the dump was not complete${kept ? ` (kept in ${kept})` : ""}, and "${record.name}" no longer runs; its newest complete checkpoint is older: restore it deliberately (ckpt checkpoints ${record.name}, then ckpt restore DIR)`;
    }
    case "adopt-restore": {
      await finishRestore(store, record);
      await cleanOperationFiles(intent);
      return `${what}: CRIU had finished; "${record.name}" runs under its monitor and is adopted`;
    }
    case "end-restore": {
      const status = containerStatus(record, await runtime.state(record.id).catch(() => null));
      // Only a container this restore made (its CRIU phase had begun) is ended.
      const made = intent.phase === "restoring" || intent.phase === "restored";
      if (made && (status === "running" || status === "paused")) await runtime.kill(record.id, "KILL").catch(() => {});
      const remaining = await unmountBelow([layout.containerDir(record.name), join(runtime.stateRoot, record.id)]).catch(() => ["(unknown)"]);
      if (remaining.length === 0) await runtime.delete(record.id, true).catch(() => {});
      await releaseContainerNetwork(store, record).catch(() => {});
      await writeFile(layout.criuConfig(record.name), "").catch(() => {});
      await rm(join(layout.bundleDir(record.name), AFTER_RESTORE_SPEC), { force: true });
      await cleanOperationFiles(intent);
      const ranAlone = made && (status === "running" || status === "paused");
      if (intent.operation === "import") {
        if (remaining.length === 0) await store.remove(record.name).catch(() => {});
        return `${what}: ${ranAlone ? "it ran without its monitor and was ended" : "it was not running"}; the half-imported container was removed (the archive is untouched: import it again)`;
      }
      const checkpoint = intent.paths.checkpoint ?? record.checkpointedTo;
      await store.save({ ...record, checkpointedTo: checkpoint ?? null });
      return `${what}: ${ranAlone ? "it ran without its monitor and was ended (its state since that restore is lost)" : "the restore had not finished"}; the checkpoint ${checkpoint ?? "(none)"} is kept: restore it again with ckpt restore ${record.name}`;
    }
  }
}

// Whether an export's archive was renamed into place before ckpt was killed: its temporary
// file is gone and the destination was written after the operation began.
async function archiveCommitted(intent: Intent): Promise<boolean> {
  const { destination, destinationTemp } = intent.paths;
  if (intent.operation !== "export" || destination === undefined || destinationTemp === undefined || existsSync(destinationTemp)) return false;
  const s = await stat(destination).catch(() => null);
  return s !== null && s.isFile() && s.mtimeMs >= intent.startedAtMs;
}

// The operation's temporary files: its staging directory, the destination's temporary file.
async function cleanOperationFiles(intent: Intent): Promise<void> {
  if (intent.paths.stagingDir !== undefined) await rm(intent.paths.stagingDir, { recursive: true, force: true });
  if (intent.paths.destinationTemp !== undefined) await rm(intent.paths.destinationTemp, { force: true });
}

// An incomplete dump's directory becomes STAMP.failed (its log is what there is to read);
// in staging it goes with the staging directory. Returns where it is kept, if anywhere.
async function keepFailedDump(intent: Intent): Promise<string | null> {
  const partial = intent.paths.partialDir;
  if (partial === undefined || !existsSync(partial) || intent.paths.stagingDir !== undefined) return null;
  // Killed before the dump began: there is nothing in it to keep.
  if (intent.phase === "prepared") {
    await rm(partial, { recursive: true, force: true });
    if (intent.paths.workDir !== undefined) await rm(intent.paths.workDir, { recursive: true, force: true });
    return null;
  }
  const failed = partial.replace(/\.partial$/, ".failed");
  await rm(join(partial, CheckpointFiles.images), { recursive: true, force: true });
  await rename(partial, failed).catch(() => {});
  return failed;
}

async function thaw(store: ContainerStore, record: ContainerRecord): Promise<void> {
  const runtime = runtimeFor(store, record.runtime, record.runtimePath);
  const status = containerStatus(record, await runtime.state(record.id).catch(() => null));
  if (status === "paused") await runtime.resume(record.id).catch(() => {});
}

// A killed ckpt's runtime child goes on (runc checkpoint, runc or crun restore): its
// outcome is waited for, up to two minutes, before it is judged.
async function waitForOrphanedRuntime(record: ContainerRecord, intent: Intent): Promise<void> {
  const marks = [record.id, ...(intent.paths.partialDir === undefined ? [] : [intent.paths.partialDir])];
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline && (await runtimeProcessesOf(marks)).length > 0) await sleep(200);
}

async function runtimeProcessesOf(marks: string[]): Promise<number[]> {
  const found: number[] = [];
  for (const entry of await readdir("/proc").catch(() => [] as string[])) {
    if (!/^\d+$/.test(entry)) continue;
    const argv = (await readFile(`/proc/${entry}/cmdline`, "utf8").catch(() => "")).split("\0");
    const program = basename(argv[0] ?? "");
    if ((program === "runc" || program === "crun") && marks.some((m) => argv.some((a) => a.includes(m)))) found.push(Number(entry));
  }
  return found;
}

// Staging directories (and a migration's scratch) whose owner, named in the directory's name, is gone: leftovers of a
// killed export, import or inspect. Returns what was removed.
export async function sweepOrphanedStaging(store: ContainerStore): Promise<string[]> {
  const storeRoot = store.layout.root;
  const removed: string[] = [];
  const parents = stagingParents(storeRoot);
  const tag = stagingRootTag(storeRoot);
  // An interrupted export's or migration's staging holds its container's only dump until
  // that container is recovered (ckpt recover NAME recovers only NAME): never swept.
  const owned = new Set<string>();
  for (const name of await readdir(store.layout.containersDir()).catch(() => [] as string[])) {
    const reading = await readIntent(store.layout, name).catch(() => null);
    if (reading?.kind === "intent" && reading.intent.paths.stagingDir !== undefined) owned.add(reading.intent.paths.stagingDir);
  }
  for (const parent of [parents.tmpfs, parents.disk]) {
    for (const name of await readdir(parent).catch(() => [] as string[])) {
      const owner = parseStagingName(name);
      // Only this root's, with an owner recorded in the name (tmpfs is shared by every root).
      if (owner === null || owner.pid === null || owner.rootTag !== tag) continue;
      if (owner.startTimeTicks !== null && (await isSameProcess(owner.pid, owner.startTimeTicks))) continue;
      const dir = join(parent, name);
      if (owned.has(dir)) continue;
      if ((await unmountBelow([dir]).catch(() => ["?"])).length > 0) continue;
      await rm(dir, { recursive: true, force: true });
      removed.push(dir);
    }
  }
  // A killed migration's scratch directory (its FIFO), named after its owner.
  for (const name of await readdir(tmpdir()).catch(() => [] as string[])) {
    const m = /^ckpt-migrate-(\d+)-(\d+)-[A-Za-z0-9]{6}$/.exec(name);
    if (m === null) continue;
    if (await isSameProcess(Number(m[1]), m[2]!)) continue;
    await rm(join(tmpdir(), name), { recursive: true, force: true });
    removed.push(join(tmpdir(), name));
  }
  return removed;
}

// Every container with an interrupted operation, recovered (ckpt recover, restore --all).
export async function recoverAll(store: ContainerStore, names?: string[]): Promise<RecoveryReport[]> {
  const all = names ?? (await readdir(store.layout.containersDir()).catch(() => [] as string[]));
  const reports: RecoveryReport[] = [];
  for (const name of all) {
    // One another command holds is left to it (its own operation, or its recovery).
    const report = await recoverContainer(store, name).catch((error: unknown) => {
      if (error instanceof LockBusyError) return null;
      throw error;
    });
    if (report !== null) reports.push(report);
  }
  return reports;
}


