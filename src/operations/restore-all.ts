// `ckpt restore --all`, after the reboot: every container the journal says was
// checkpointed is restored, `parallel` at a time, each failed attempt retried on the
// back-off schedule up to `maxAttempts`. The journal records each outcome. It holds the
// store's lock (one --all at a time); each restore takes its container's.
import { existsSync } from "node:fs";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { CheckpointFiles } from "../checkpoint/checkpoint-dir.ts";
import { liveState, openContainer } from "../container/context.ts";
import { isActive } from "../container/status.ts";
import type { TimeMode } from "../clock/restore-plan.ts";
import type { ContainerStore } from "../store/container-store.ts";
import { retryWithBackoff, type BackoffPolicy, type Clock } from "../recovery/backoff.ts";
import { JournalFile, planRestoreAll, readJournal, type Journal, type JournalEntry } from "../recovery/journal.ts";
import { mapLimit } from "../recovery/pool.ts";
import { lockStore } from "../store/locks.ts";
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
    try {
      await retryWithBackoff(
        () => restoreContainer(store, { source: entry.checkpoint!, newName: undefined, runtime: undefined, timeMode: options.timeMode, options: {}, progressTimeoutMs: options.progressTimeoutMs, lockTimeoutMs: options.lockTimeoutMs }),
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
      await record(entry.name, { state: "restored", attempts, reason: null });
      options.onEvent?.({ name: entry.name, state: "restored", detail: entry.checkpoint! });
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      await record(entry.name, { state: "failed", attempts, reason });
      options.onEvent?.({ name: entry.name, state: "failed", detail: reason });
    }
  });
  // Containers a crashed `checkpoint --all` never finished with: thaw what it left
  // frozen, leave running what it never reached, and bring back what CRIU dumped after
  // ckpt was gone (its images are complete when CRIU's statistics were written).
  for (const entry of plan.report.filter((e) => e.state === "pending")) {
    const outcome = await recoverPending(store, entry.name, options.timeMode, options.lockTimeoutMs);
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

async function recoverPending(store: ContainerStore, name: string, timeMode: TimeMode, lockTimeoutMs: number | undefined): Promise<{ state: "restored" | "left" | "lost"; reason: string | null; checkpoint?: string }> {
  const ctx = await openContainer(store, name).catch(() => null);
  if (ctx === null) return { state: "lost", reason: "checkpoint --all was interrupted and the container no longer exists" };
  const live = await liveState(ctx);
  if (live.status === "paused") {
    await ctx.runtime.resume(ctx.record.id);
    return { state: "left", reason: "checkpoint --all was interrupted while the container was frozen; ckpt thawed it and it runs" };
  }
  if (isActive(live.status)) return { state: "left", reason: "checkpoint --all was interrupted before it reached this container; it still runs" };
  const dumped = await completedPartialDump(ctx.store.layout.containerCheckpointsDir(name));
  if (dumped === null) return { state: "lost", reason: `checkpoint --all was interrupted; the container is ${live.status} and no complete dump of it exists` };
  try {
    await restoreContainer(ctx.store, { source: dumped, newName: name, runtime: ctx.record.runtime, timeMode, options: {}, bundle: ctx.store.layout.bundleDir(name), lockTimeoutMs });
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

// The newest STAMP.partial whose dump CRIU finished (it writes its statistics last).
async function completedPartialDump(dir: string): Promise<string | null> {
  const names = (await readdir(dir).catch(() => [] as string[])).filter((n) => n.endsWith(".partial")).sort().reverse();
  for (const n of names) {
    if (existsSync(join(dir, n, "work", "stats-dump")) && existsSync(join(dir, n, CheckpointFiles.images, "inventory.img"))) return join(dir, n);
  }
  return null;
}
