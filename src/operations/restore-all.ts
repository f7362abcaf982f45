// `ckpt restore --all`, after the reboot: every container the journal says was
// checkpointed is restored, `parallel` at a time, each failed attempt retried on the
// back-off schedule up to `maxAttempts`. The journal records each outcome. It holds the
// store's lock (one --all at a time); each restore takes its container's.
import { existsSync } from "node:fs";
import { readdir } from "node:fs/promises";
import { join, resolve } from "node:path";
import { holdsCompleteDump } from "../checkpoint/checkpoint-dir.ts";
import { liveState, openContainer } from "../container/context.ts";
import { isActive } from "../container/status.ts";
import type { TimeMode } from "../clock/restore-plan.ts";
import type { ContainerStore } from "../store/container-store.ts";
import { retryWithBackoff, type BackoffPolicy, type Clock } from "../recovery/backoff.ts";
import { JournalFile, planRestoreAll, readJournal, type Journal, type JournalEntry } from "../recovery/journal.ts";
import { mapLimit } from "../recovery/pool.ts";
import { lockContainer, lockStore, type HeldLock } from "../store/locks.ts";
import { listCheckpoints } from "../checkpoint/checkpoint-store.ts";
import { restoreContainer } from "./restore.ts";

export interface RestoreAllOptions {
  parallel: number;
  lockTimeoutMs?: number | undefined;
  policy: BackoffPolicy;
  maxAttempts: number;
  timeMode: TimeMode;
  progressTimeoutMs: number;
  clock?: Clock;
  onEvent?: (event: { name: string; state: string; detail: string }) => void;
}

export interface RestoreAllResult {
  path: string;
  journal: Journal;
  // Entries there was nothing to restore for (stopped, left, lost, pending), as the journal had them.
  reported: JournalEntry[];
}

export async function restoreAll(store: ContainerStore, options: RestoreAllOptions): Promise<RestoreAllResult> {
  const storeLock = await lockStore(store.layout, { timeoutMs: options.lockTimeoutMs });
  try {
    return await restoreAllLocked(store, options);
  } finally {
    storeLock.release();
  }
}

async function restoreAllLocked(store: ContainerStore, options: RestoreAllOptions): Promise<RestoreAllResult> {
  const path = store.layout.recoveryJournal();
  const file = new JournalFile(path, await readJournal(path, (name) => store.layout.containerCheckpointsDir(name)));
  const plan = planRestoreAll(file.journal);
  const record = (name: string, change: Parameters<JournalFile["record"]>[1]) => file.record(name, change);
  await mapLimit(plan.restore, options.parallel, async (entry) => {
    // Restore attempts: counted afresh after a checkpoint, added to after a failed restore.
    let attempts = entry.state === "failed" ? entry.attempts : 0;
    // The journal may be older than the container's state (restored, run on, checkpointed
    // again since): under its lock, what is newer wins over the journal's checkpoint.
    let lock: HeldLock | undefined;
    let source = entry.checkpoint!;
    try {
      lock = await lockContainer(store.layout, entry.name, { timeoutMs: options.lockTimeoutMs });
      const since = await sinceJournal(store, entry);
      if (since.kind === "left") {
        await record(entry.name, { state: "left", reason: since.reason });
        options.onEvent?.({ name: entry.name, state: "left", detail: since.reason });
        lock.release();
        return;
      }
      if (since.kind === "newer") source = since.checkpoint;
    } catch (error) {
      lock?.release();
      const reason = error instanceof Error ? error.message : String(error);
      await record(entry.name, { state: "failed", attempts, reason });
      options.onEvent?.({ name: entry.name, state: "failed", detail: reason });
      return;
    }
    try {
      await retryWithBackoff(
        () => restoreContainer(store, { source, newName: undefined, runtime: undefined, timeMode: options.timeMode, options: {}, progressTimeoutMs: options.progressTimeoutMs, lockTimeoutMs: options.lockTimeoutMs }),
        options.policy,
        {
          maxAttempts: options.maxAttempts,
          ...(options.clock === undefined ? {} : { clock: options.clock }),
          onAttempt: (a) => {
            attempts++;
            if (!a.outcome.ok) options.onEvent?.({ name: entry.name, state: "retrying", detail: `attempt ${a.attempt} failed: ${a.outcome.error instanceof Error ? a.outcome.error.message : String(a.outcome.error)}` });
          },
        },
      );
      const newer = source === entry.checkpoint ? null : `checkpointed again since checkpoint --all: restored from its newest checkpoint ${source}, not the journal's older one`;
      await record(entry.name, { state: "restored", attempts, reason: newer, checkpoint: source });
      options.onEvent?.({ name: entry.name, state: "restored", detail: newer ?? source });
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      await record(entry.name, { state: "failed", attempts, reason });
      options.onEvent?.({ name: entry.name, state: "failed", detail: reason });
    } finally {
      lock.release();
    }
  });
  // Containers a crashed `checkpoint --all` never finished with: thaw what it left
  // frozen, leave running what it never reached, and bring back what CRIU dumped after
  // ckpt was gone (its images are complete when CRIU's statistics were written).
  for (const entry of plan.report.filter((e) => e.state === "pending")) {
    const outcome = await recoverPending(store, entry.name, BigInt(file.journal.startedAtNs), options.timeMode, options.lockTimeoutMs);
    await record(entry.name, outcome);
    options.onEvent?.({ name: entry.name, state: outcome.state, detail: outcome.reason ?? "" });
  }
  // Containers checkpoint --all left alone because another command held them.
  for (const entry of plan.report.filter((e) => e.state === "busy")) {
    const outcome = await recoverBusy(store, entry.name, BigInt(file.journal.startedAtNs), options);
    if (outcome === null) continue;
    await record(entry.name, outcome);
    options.onEvent?.({ name: entry.name, state: outcome.state, detail: outcome.reason ?? "" });
  }
  await file.settled();
  return { path, journal: file.journal, reported: plan.report };
}

async function recoverPending(store: ContainerStore, name: string, journalStartedNs: bigint, timeMode: TimeMode, lockTimeoutMs: number | undefined): Promise<{ state: "restored" | "left" | "lost"; reason: string | null; checkpoint?: string }> {
  const ctx = await openContainer(store, name).catch(() => null);
  if (ctx === null) return { state: "lost", reason: "checkpoint --all was interrupted and the container no longer exists" };
  const live = await liveState(ctx);
  if (live.status === "paused") {
    await ctx.runtime.resume(ctx.record.id);
    return { state: "left", reason: "checkpoint --all was interrupted while the container was frozen; ckpt thawed it and it runs" };
  }
  if (isActive(live.status)) return { state: "left", reason: "checkpoint --all was interrupted before it reached this container; it still runs" };
  // The dump CRIU finished after ckpt was gone: recovery (which restore --all runs first)
  // has made it a checkpoint under its final name; else it is still STAMP.partial.
  const recorded = ctx.record.checkpointedTo !== null && existsSync(join(ctx.record.checkpointedTo, "manifest.json")) ? (await listCheckpoints(store.layout, name)).find((c) => resolve(c.dir) === resolve(ctx.record.checkpointedTo!) && BigInt(c.manifest.checkpointedAtNs) >= journalStartedNs) : undefined;
  const dumped = recorded?.dir ?? (await completedPartialDump(ctx.store.layout.containerCheckpointsDir(name)));
  if (dumped === null) return { state: "lost", reason: `checkpoint --all was interrupted; the container is ${live.status} and no complete dump of it exists` };
  try {
    await restoreContainer(ctx.store, { source: dumped, newName: name, runtime: { name: ctx.record.runtime, path: ctx.record.runtimePath }, timeMode, options: {}, bundle: ctx.store.layout.bundleDir(name), lockTimeoutMs });
    return { state: "restored", reason: "checkpoint --all was interrupted after CRIU dumped it; restored from that dump", checkpoint: dumped };
  } catch (error) {
    return { state: "lost", reason: `checkpoint --all was interrupted after CRIU dumped it, and restoring that dump failed: ${error instanceof Error ? error.message : String(error)}; the images are kept in ${dumped}` };
  }
}

// A container another command held during checkpoint --all: running now, it is left; a
// checkpoint of it made since checkpoint --all began (by the command that held it) is
// restored; otherwise it stays busy in the journal (null), with the holder named.
async function recoverBusy(store: ContainerStore, name: string, journalStartedNs: bigint, options: RestoreAllOptions): Promise<{ state: "left" | "restored" | "failed"; reason: string | null; checkpoint?: string; attempts?: number } | null> {
  const ctx = await openContainer(store, name).catch(() => null);
  if (ctx !== null && isActive((await liveState(ctx)).status)) return { state: "left", reason: "another command held it during checkpoint --all; it runs" };
  const since = (await listCheckpoints(store.layout, name)).filter((c) => BigInt(c.manifest.checkpointedAtNs) >= journalStartedNs).at(-1);
  if (since === undefined) return null;
  try {
    await restoreContainer(store, { source: since.dir, newName: undefined, runtime: undefined, timeMode: options.timeMode, options: {}, progressTimeoutMs: options.progressTimeoutMs, lockTimeoutMs: options.lockTimeoutMs });
    return { state: "restored", reason: "another command held it during checkpoint --all; restored from the checkpoint it made", checkpoint: since.dir, attempts: 1 };
  } catch (error) {
    return { state: "failed", reason: error instanceof Error ? error.message : String(error), checkpoint: since.dir, attempts: 1 };
  }
}

// What happened to a container since the journal named its checkpoint. Its record points
// at the checkpoint it was last dumped to (null once restored): the journal's checkpoint is
// its state only while the record still names it. A container restored since and running,
// or stopped after that restore, is left (bringing the journal's checkpoint back would roll
// it back); one checkpointed again since is restored from that newer checkpoint. A
// container with no record (removed since) keeps the journal's checkpoint, as before.
async function sinceJournal(store: ContainerStore, entry: JournalEntry): Promise<{ kind: "journal" } | { kind: "left"; reason: string } | { kind: "newer"; checkpoint: string }> {
  const ctx = await openContainer(store, entry.name).catch(() => null);
  if (ctx === null) return { kind: "journal" };
  const live = await liveState(ctx);
  if (isActive(live.status)) return { kind: "left", reason: `it was restored since checkpoint --all and is ${live.status}: the journal's checkpoint ${entry.checkpoint} is older than its state, and was not restored` };
  const to = ctx.record.checkpointedTo;
  if (to !== null && resolve(to) === resolve(entry.checkpoint!)) return { kind: "journal" };
  if (to !== null && existsSync(join(to, "manifest.json"))) return { kind: "newer", checkpoint: to };
  const state = to === null ? live.status : `checkpointed to ${to}`;
  return { kind: "left", reason: `it was restored since checkpoint --all and is now ${state}: the journal's checkpoint ${entry.checkpoint} is older than its state, and was not restored (restore it deliberately with ckpt restore ${entry.name}, or ckpt restore DIR)` };
}

// The newest STAMP.partial whose dump CRIU finished (it writes its statistics last).
async function completedPartialDump(dir: string): Promise<string | null> {
  const names = (await readdir(dir).catch(() => [] as string[])).filter((n) => n.endsWith(".partial")).sort().reverse();
  return names.map((n) => join(dir, n)).find(holdsCompleteDump) ?? null;
}
