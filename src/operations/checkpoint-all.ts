// `ckpt checkpoint --all`, before a reboot: every running container is checkpointed into
// the store, `parallel` at a time. One that cannot be (pre-flight refusal, CRIU error) is
// stopped gracefully instead, unless `stop` is false. The recovery journal is written
// before the first dump and rewritten atomically after each container, so a crash
// half-way loses nothing that was already checkpointed.
import { checkpointContainer } from "./checkpoint.ts";
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

export interface CheckpointAllOptions {
  parallel: number;
  stop: boolean;
  graceSeconds: number;
  progressTimeoutMs: number;
  // The dump options given to every container (checkpoint --all --file-locks ...).
  dumpOptions?: DumpOptions;
  onEvent?: (event: { name: string; state: string; detail: string }) => void;
}

export async function checkpointAll(store: ContainerStore, options: CheckpointAllOptions): Promise<{ journal: Journal; path: string }> {
  const entries = await store.entries();
  const running: string[] = [];
  const damaged: DamagedContainer[] = [];
  for (const entry of entries) {
    if ("damage" in entry) {
      damaged.push(await inspectDamaged(store, entry.name, entry.damage));
      continue;
    }
    const record = entry.record;
    const ctx = { store, record, runtime: runtimeFor(store, record.runtime, record.runtimePath) };
    if ((await liveState(ctx)).status === "running") running.push(record.name);
  }
  // A container whose record is damaged cannot be checkpointed (nothing says how it was
  // run). One that runs is in the journal as left running, so that the command fails and
  // restore --all reports it; one that does not is only reported.
  const damagedRunning = damaged.filter(damagedIsAlive);
  for (const d of damaged.filter((d) => !damagedIsAlive(d))) options.onEvent?.({ name: d.name, state: "damaged", detail: `its record is damaged (${d.damage}) and nothing of it runs; remove it with: ckpt rm -f ${d.name}` });
  const path = store.layout.recoveryJournal();
  const startedNs = BigInt(Date.now()) * 1_000_000n;
  let initial = newJournal([...running, ...damagedRunning.map((d) => d.name)], await readBootId(), startedNs);
  for (const d of damagedRunning) {
    initial = recordOutcome(initial, d.name, { state: "left", reason: damagedReason(d), attempts: 0 }, startedNs);
  }
  await writeJournal(path, initial);
  for (const d of damagedRunning) options.onEvent?.({ name: d.name, state: "left", detail: damagedReason(d) });
  const file = new JournalFile(path, initial);
  const record = (name: string, change: Parameters<JournalFile["record"]>[1]) => file.record(name, change);

  await mapLimit(running, options.parallel, async (name) => {
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
    }
  });
  await file.settled();
  return { journal: file.journal, path };
}

function damagedReason(d: DamagedContainer): string {
  return `cannot be checkpointed: its record is damaged (${d.damage}); it was left ${d.runtime?.status ?? "running"}; remove it with: ckpt rm -f ${d.name}`;
}
