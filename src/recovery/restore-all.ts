// `ckpt restore --all`, after the reboot: every container the journal says was
// checkpointed is restored, `parallel` at a time, each failed attempt retried on the
// back-off schedule up to `maxAttempts`. The journal records each outcome.
import { openStore } from "../container/context.ts";
import type { GlobalOptions } from "../global-options.ts";
import { restoreContainer } from "../restore/restore.ts";
import type { TimeMode } from "../clock/restore-plan.ts";
import { retryWithBackoff, type BackoffPolicy, type Clock } from "./backoff.ts";
import { planRestoreAll, readJournal, recordOutcome, writeJournal, type Journal, type JournalEntry } from "./journal.ts";
import { mapLimit } from "./pool.ts";

export interface RestoreAllOptions {
  parallel: number;
  policy: BackoffPolicy;
  maxAttempts: number;
  timeMode: TimeMode;
  clock?: Clock;
  onEvent?: (event: { name: string; state: string; detail: string }) => void;
}

export interface RestoreAllResult {
  path: string;
  journal: Journal;
  // Entries there was nothing to restore for (stopped, left, lost, pending), as the journal had them.
  reported: JournalEntry[];
}

export async function restoreAll(globals: GlobalOptions, options: RestoreAllOptions): Promise<RestoreAllResult> {
  const store = openStore(globals);
  const path = store.layout.recoveryJournal();
  let journal = await readJournal(path);
  const plan = planRestoreAll(journal);
  let writing = Promise.resolve();
  const record = (name: string, change: Parameters<typeof recordOutcome>[2]) => {
    journal = recordOutcome(journal, name, change, BigInt(Date.now()) * 1_000_000n);
    const snapshot = journal;
    writing = writing.then(() => writeJournal(path, snapshot));
    return writing;
  };
  await mapLimit(plan.restore, options.parallel, async (entry) => {
    // Restore attempts: counted afresh after a checkpoint, added to after a failed restore.
    let attempts = entry.state === "failed" ? entry.attempts : 0;
    try {
      await retryWithBackoff(
        () => restoreContainer(store, { source: entry.checkpoint!, newName: undefined, runtime: undefined, timeMode: options.timeMode, tcpEstablished: false, fileLocks: false }),
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
  await writing;
  return { path, journal, reported: plan.report };
}
