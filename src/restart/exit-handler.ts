// The two halves of `run --restart`, both run by ckpt itself with no terminal:
//
// 1. conmon's exit command, `ckpt __container-exited NAME`: conmon runs it once the
//    container has exited and its exit code is written, and waits for it. It decides
//    (policy.ts), records the decision in restart.json, and when a restart is due spawns
//    the waiter, detached, then returns at once so that conmon can exit.
// 2. The waiter, `ckpt __restart-wait NAME GENERATION`: sleeps until the retry time, checks
//    that nothing changed meanwhile (no stop, rm, restore or newer exit), and starts the
//    container again from its bundle under a new conmon. A start that fails is one more
//    failure: it waits the next delay and tries again, until the policy's limit.
//
// Both append what they did to restart.log, since nobody sees their output.
import { spawn } from "node:child_process";
import { appendFile, open, rm } from "node:fs/promises";
import { join } from "node:path";
import { runtimeFor } from "../container/context.ts";
import { startFromBundle } from "../container/run.ts";
import { containerStatus, isActive } from "../container/status.ts";
import { readExitCode } from "../monitor/conmon.ts";
import { systemClock, type Clock } from "../recovery/backoff.ts";
import type { ContainerRecord } from "../store/container-record.ts";
import type { ContainerStore } from "../store/container-store.ts";
import { decideAfterFailedStart, decideRestart, freshRestartState, type RestartDecision } from "./policy.ts";
import { waiterArgv } from "./exit-command.ts";
import { readHold, readRestartState, writeRestartState } from "./restart-state.ts";

// The container `name` has exited: restart it later, or record why not.
export async function containerExited(store: ContainerStore, name: string, clock: Clock = systemClock): Promise<RestartDecision | null> {
  const record = await store.find(name);
  if (record === null) return null;
  const layout = store.layout;
  const nowMs = clock.nowMs();
  const exitCode = await readExitCode(layout.exitDir(name), record.id);
  const state = (await readRestartState(layout, name)) ?? freshRestartState(nowMs);
  const decision = decideRestart(record.restart, state, { exitCode, heldBy: await readHold(layout, name), checkpointed: record.checkpointedTo !== null, nowMs });
  await writeRestartState(layout, name, decision.state);
  const code = exitCode === null ? "no exit code" : `exit code ${exitCode}`;
  if (!decision.restart) {
    await logRestart(store, name, `exited (${code}); not restarted: ${decision.reason}`);
    return decision;
  }
  const logFile = await open(layout.restartLog(name), "a", 0o600);
  const [node, ...args] = waiterArgv(layout.root, name, decision.state.generation);
  const waiter = spawn(node!, args, { detached: true, stdio: ["ignore", logFile.fd, logFile.fd] });
  waiter.unref();
  await logFile.close();
  const waiting = { ...decision.state, waiterPid: waiter.pid ?? null };
  await writeRestartState(layout, name, waiting);
  await logRestart(store, name, `exited (${code}); restarting in ${formatDelay(decision.delayMs)} (failure ${waiting.failures} in a row; waiter PID ${waiter.pid})`);
  return { ...decision, state: waiting };
}

// The waiter: restarts `name` when its time comes, unless something else happened first.
export async function waitAndRestart(store: ContainerStore, name: string, generation: number, clock: Clock = systemClock): Promise<string> {
  const layout = store.layout;
  for (;;) {
    const state = await readRestartState(layout, name);
    if (state === null || state.generation !== generation || state.nextRetryAtMs === null) return "called off: a newer exit, a restore or a stop took over";
    await clock.sleep(Math.max(0, state.nextRetryAtMs - clock.nowMs()));

    const now = await readRestartState(layout, name);
    if (now === null || now.generation !== generation || now.nextRetryAtMs === null) return "called off while waiting";
    const record = await store.find(name);
    if (record === null) return "called off: the container was removed";
    const hold = await readHold(layout, name);
    if (hold !== null) return `called off: ${hold}`;
    const runtime = runtimeFor(store, record.runtime, record.runtimePath);
    const status = containerStatus(record, await runtime.state(record.id).catch(() => null));
    if (isActive(status) || status === "checkpointed") return `called off: the container is ${status}`;

    // From here on this run is the current one: an exit of the restarted container
    // finds the next generation, and this waiter does not count its restart twice.
    const startedMs = clock.nowMs();
    await writeRestartState(layout, name, { ...now, generation: generation + 1, nextRetryAtMs: null, runningSinceMs: startedMs, waiterPid: null });
    try {
      const pid = await startAgain(store, record);
      // The restarted container may already have exited again: keep what its exit wrote.
      const after = (await readRestartState(layout, name)) ?? now;
      await writeRestartState(layout, name, { ...after, restarts: now.restarts + 1, note: after.generation === generation + 1 ? null : after.note });
      await logRestart(store, name, `restarted (restart ${now.restarts + 1}, PID ${pid})`);
      return "restarted";
    } catch (error) {
      const why = (error as Error).message;
      const decision = decideAfterFailedStart(record.restart, { ...now, generation: generation + 1 }, why, clock.nowMs());
      generation += 1;
      await writeRestartState(layout, name, decision.restart ? { ...decision.state, waiterPid: process.pid } : decision.state);
      if (!decision.restart) {
        await logRestart(store, name, `could not start it again (${why}); giving up: ${decision.reason}`);
        return "gave up";
      }
      await logRestart(store, name, `could not start it again (${why}); next try in ${formatDelay(decision.delayMs)}`);
    }
  }
}

// Starts an exited container afresh from ckpt's bundle, as `run` did.
async function startAgain(store: ContainerStore, record: ContainerRecord): Promise<number> {
  const runtime = runtimeFor(store, record.runtime, record.runtimePath);
  await runtime.delete(record.id, true).catch(() => {});
  await rm(join(store.layout.exitDir(record.name), record.id), { force: true });
  const fresh = { ...record, restoredFrom: null };
  await store.save(fresh);
  return startFromBundle(store, fresh, runtime);
}

export async function logRestart(store: ContainerStore, name: string, line: string): Promise<void> {
  await appendFile(store.layout.restartLog(name), `${new Date().toISOString()} ${line}\n`, { mode: 0o600 }).catch(() => {});
}

export function formatDelay(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${(ms / 1000).toFixed(1)}s`;
}
