// `ckpt checkpoint --all`, before a reboot: every running container is checkpointed into
// the store, `parallel` at a time. One that cannot be (pre-flight refusal, CRIU error) is
// stopped gracefully instead, unless `stop` is false. The recovery journal is written
// before the first dump and rewritten atomically after each container, so a crash
// half-way loses nothing that was already checkpointed. It holds the store's lock (one
// --all at a time) and takes each container's lock without waiting: a container another
// command holds is never signalled, only recorded as busy with its holder.
import { checkpointContainer } from "./checkpoint.ts";
import { recoverContainer } from "./recover.ts";
import { readBootId } from "../clock/host-clocks.ts";
import { liveState, openContainer, runtimeFor } from "../container/context.ts";
import { isActive } from "../container/status.ts";
import { stopContainer } from "../container/stop.ts";
import { CkptError } from "../errors.ts";
import { JournalFile, newJournal, recordOutcome, writeJournal, type Journal } from "../recovery/journal.ts";
import { damagedIsAlive, inspectDamaged, type DamagedContainer } from "../container/damaged.ts";
import { mapLimit } from "../recovery/pool.ts";
import type { ContainerStore } from "../store/container-store.ts";
import { NO_DUMP_OPTIONS, type DumpOptions } from "../criu/dump-options.ts";
import { lockedContainerNames, lockStore, tryLockContainer, type HeldLock, LockBusyError } from "../store/locks.ts";

export interface CheckpointAllOptions {
  parallel: number;
  stop: boolean;
  graceSeconds: number;
  progressTimeoutMs: number;
  lockTimeoutMs?: number | undefined;
  // The dump options given to every container (checkpoint --all --file-locks ...).
  dumpOptions?: DumpOptions;
  onEvent?: (event: { name: string; state: string; detail: string }) => void;
}

export async function checkpointAll(store: ContainerStore, options: CheckpointAllOptions): Promise<{ journal: Journal; path: string }> {
  const storeLock = await lockStore(store.layout, { timeoutMs: options.lockTimeoutMs });
  const held = new Map<string, HeldLock>();
  try {
    return await checkpointAllLocked(store, options, held);
  } finally {
    for (const lock of held.values()) lock.release();
    storeLock.release();
  }
}

// `held`: the containers' locks, taken when they are listed and kept until the end, so
// that nothing starts on a container between the listing and its dump.
async function checkpointAllLocked(store: ContainerStore, options: CheckpointAllOptions, held: Map<string, HeldLock>): Promise<{ journal: Journal; path: string }> {
  const entries = await store.entries();
  const records = entries.flatMap((e) => ("damage" in e ? [] : [e.record]));
  const damaged: DamagedContainer[] = [];
  for (const entry of entries) if ("damage" in entry) damaged.push(await inspectDamaged(store, entry.name, entry.damage));
  const running: string[] = [];
  const busy = new Map<string, LockBusyError>();
  // Records, and names with a lock but no record yet (a restore under a new name).
  const names = [...new Set([...records.map((r) => r.name), ...(await lockedContainerNames(store.layout))])].filter((n) => !damaged.some((d) => d.name === n)).sort();
  for (const name of names) {
    const lock = await tryLockContainer(store.layout, name);
    if (lock instanceof LockBusyError) {
      busy.set(name, lock);
      continue;
    }
    const record = records.find((r) => r.name === name);
    const ctx = record === undefined ? null : { store, record, runtime: runtimeFor(store, record.runtime, record.runtimePath) };
    if (ctx !== null && (await liveState(ctx)).status === "running") {
      held.set(name, lock);
      running.push(name);
    } else lock.release();
  }
  // A container whose record is damaged cannot be checkpointed (nothing says how it was
  // run). One that runs is in the journal as left running, so that the command fails and
  // restore --all reports it; one that does not is only reported.
  const damagedRunning = damaged.filter(damagedIsAlive);
  for (const d of damaged.filter((d) => !damagedIsAlive(d))) options.onEvent?.({ name: d.name, state: "damaged", detail: `its record is damaged (${d.damage}) and nothing of it runs; remove it with: ckpt rm -f ${d.name}` });
  const path = store.layout.recoveryJournal();
  const startedNs = BigInt(Date.now()) * 1_000_000n;
  let initial = newJournal([...running, ...busy.keys(), ...damagedRunning.map((d) => d.name)], await readBootId(), startedNs);
  for (const d of damagedRunning) {
    initial = recordOutcome(initial, d.name, { state: "left", reason: damagedReason(d), attempts: 0 }, startedNs);
  }
  await writeJournal(path, initial);
  for (const d of damagedRunning) options.onEvent?.({ name: d.name, state: "left", detail: damagedReason(d) });
  const file = new JournalFile(path, initial);
  const record = (name: string, change: Parameters<JournalFile["record"]>[1]) => file.record(name, change);
  for (const [name, error] of busy) {
    await record(name, { state: "busy", reason: error.message, attempts: 0 });
    options.onEvent?.({ name, state: "busy", detail: error.message });
  }

  await mapLimit(running, options.parallel, async (name) => {
    // An interrupted operation on it first: its dump may already be the newest checkpoint.
    const recovered = await recoverContainer(store, name).catch(() => null);
    if (recovered !== null) options.onEvent?.({ name, state: "recovered", detail: recovered.said });
    const ctx = await openContainer(store, name);
    try {
      const result = await checkpointContainer(ctx, { leaveRunning: false, ...(options.dumpOptions ?? NO_DUMP_OPTIONS), keep: false, allowProcessLoss: false, progressTimeoutMs: options.progressTimeoutMs });
      await record(name, { state: "checkpointed", checkpoint: result.dir, attempts: 1 });
      options.onEvent?.({ name, state: "checkpointed", detail: result.dir });
    } catch (error) {
      const evidence = error instanceof CkptError && error.evidence.length > 0 ? `: ${error.evidence.join("; ")}` : "";
      const reason = `${error instanceof Error ? error.message : String(error)}${evidence}`;
      const now = await liveState(ctx).catch(() => null);
      if (!options.stop || now === null || !isActive(now.status)) {
        const state = now !== null && isActive(now.status) ? "left" : "lost";
        await record(name, { state, reason, attempts: 1 });
        options.onEvent?.({ name, state, detail: reason });
        return;
      }
      const stopped = await stopContainer(ctx, options.graceSeconds).catch((stopError: unknown) => ({ signal: null, error: stopError }));
      const signal = "signal" in stopped ? stopped.signal : null;
      await record(name, { state: signal === null ? "left" : "stopped", signal, reason, attempts: 1 });
      options.onEvent?.({ name, state: signal === null ? "left" : "stopped", detail: `${reason} (stopped with ${signal ?? "nothing: it would not stop"})` });
    } finally {
      held.get(name)?.release();
    }
  });
  await file.settled();
  return { journal: file.journal, path };
}

function damagedReason(d: DamagedContainer): string {
  return `cannot be checkpointed: its record is damaged (${d.damage}); it was left ${d.runtime?.status ?? "running"}; remove it with: ckpt rm -f ${d.name}`;
}
