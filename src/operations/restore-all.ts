// `ckpt restore --all`, after the reboot: every container the journal says was
// checkpointed is restored, `parallel` at a time, each failed attempt retried on the
// back-off schedule up to `maxAttempts`. The journal records each outcome.
import { existsSync } from "node:fs";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { CheckpointFiles } from "../checkpoint/checkpoint-dir.ts";
import { liveState, openContainer } from "../container/context.ts";
import { isActive } from "../container/status.ts";
import type { TimeMode } from "../clock/restore-plan.ts";
import type { RuntimeName } from "../runtimes/runtime.ts";
import type { ContainerStore } from "../store/container-store.ts";
import { retryWithBackoff, type BackoffPolicy, type Clock } from "../recovery/backoff.ts";
import { JournalFile, planRestoreAll, readJournal, type Journal, type JournalEntry } from "../recovery/journal.ts";
import { mapLimit } from "../recovery/pool.ts";

// One restore of a checkpoint (restore/restore.ts's restoreContainer, which the caller
// passes in: the restore is a layer above this one).
export interface RestoreAttempt {
  source: string;
  newName: string | undefined;
  runtime: RuntimeName | undefined;
  timeMode: TimeMode;
  progressTimeoutMs?: number;
  bundle?: string;
}
export type RestoreCheckpoint = (store: ContainerStore, attempt: RestoreAttempt) => Promise<unknown>;

export interface RestoreAllOptions {
  restore: RestoreCheckpoint;
  parallel: number;
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
  const path = store.layout.recoveryJournal();
  const file = new JournalFile(path, await readJournal(path, (name) => store.layout.containerCheckpointsDir(name)));
  const plan = planRestoreAll(file.journal);
  const record = (name: string, change: Parameters<JournalFile["record"]>[1]) => file.record(name, change);
  await mapLimit(plan.restore, options.parallel, async (entry) => {
    // Restore attempts: counted afresh after a checkpoint, added to after a failed restore.
    let attempts = entry.state === "failed" ? entry.attempts : 0;
    try {
      await retryWithBackoff(
        () => options.restore(store, { source: entry.checkpoint!, newName: undefined, runtime: undefined, timeMode: options.timeMode, progressTimeoutMs: options.progressTimeoutMs }),
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
    const outcome = await recoverPending(store, options.restore, entry.name, options.timeMode);
    await record(entry.name, outcome);
    options.onEvent?.({ name: entry.name, state: outcome.state, detail: outcome.reason ?? "" });
  }
  await file.settled();
  return { path, journal: file.journal, reported: plan.report };
}

async function recoverPending(store: ContainerStore, restore: RestoreCheckpoint, name: string, timeMode: TimeMode): Promise<{ state: "restored" | "left" | "lost"; reason: string | null; checkpoint?: string }> {
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
    await restore(ctx.store, { source: dumped, newName: name, runtime: ctx.record.runtime, timeMode, bundle: ctx.store.layout.bundleDir(name) });
    return { state: "restored", reason: "checkpoint --all was interrupted after CRIU dumped it; restored from that dump", checkpoint: dumped };
  } catch (error) {
    return { state: "lost", reason: `checkpoint --all was interrupted after CRIU dumped it, and restoring that dump failed: ${error instanceof Error ? error.message : String(error)}; the images are kept in ${dumped}` };
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
