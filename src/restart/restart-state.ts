// The files behind `run --restart`, next to the container record:
//   restart.json   restarts so far, the back-off's count, the pending retry and its waiter
//   restart-hold   present while ckpt ends the container on purpose (stop, rm, checkpoint):
//                  the exit handler then leaves it down
// The exit handler, the waiter and the commands that end a container all write here.
import { readFile, rm, writeFile } from "node:fs/promises";
import { killAll, runsCommand } from "../proc/process.ts";
import { writeFileAtomic } from "../store/atomic-write.ts";
import type { ContainerRecord } from "../store/container-record.ts";
import type { StoreLayout } from "../store/layout.ts";
import { WAITER_COMMAND } from "./exit-command.ts";
import { freshRestartState, RestartStateSchema, type RestartState } from "./policy.ts";

export async function readRestartState(layout: StoreLayout, name: string): Promise<RestartState | null> {
  const text = await readFile(layout.restartState(name), "utf8").catch(() => null);
  if (text === null) return null;
  const parsed = RestartStateSchema.safeParse(JSON.parse(text));
  return parsed.success ? parsed.data : null;
}

export async function writeRestartState(layout: StoreLayout, name: string, state: RestartState): Promise<void> {
  await writeFileAtomic(layout.restartState(name), `${JSON.stringify(state, null, 2)}\n`);
}

// Why ckpt is ending the container on purpose, or null.
export async function readHold(layout: StoreLayout, name: string): Promise<string | null> {
  const text = await readFile(layout.restartHold(name), "utf8").catch(() => null);
  return text === null ? null : text.trim() || "held";
}

// Before ckpt ends a container on purpose: no restart when it exits, and a restart that
// is already pending is called off (its waiter ended, by PID, once it is known to be one).
export async function holdRestarts(layout: StoreLayout, record: ContainerRecord, why: string): Promise<void> {
  if (record.restart.policy === "no") return;
  const name = record.name;
  await writeFile(layout.restartHold(name), `${why}\n`, { mode: 0o600 }).catch(() => {});
  const state = await readRestartState(layout, name);
  if (state === null || state.nextRetryAtMs === null) return;
  if (state.waiterPid !== null && (await isWaiterOf(state.waiterPid, name))) killAll([state.waiterPid]);
  await writeRestartState(layout, name, { ...state, nextRetryAtMs: null, waiterPid: null, runningSinceMs: null, note: `the pending restart was called off (${why})` });
}

// ckpt did not end the container after all (a dump that failed): its exits count again.
export async function releaseHold(layout: StoreLayout, name: string): Promise<void> {
  await rm(layout.restartHold(name), { force: true });
}

// The container runs again (restored): its exits count again, a pending restart is
// stale, and a new run begins for the back-off to measure.
export async function beginRun(layout: StoreLayout, name: string, nowMs: number): Promise<void> {
  await releaseHold(layout, name);
  const state = (await readRestartState(layout, name)) ?? freshRestartState(nowMs);
  await writeRestartState(layout, name, { ...state, generation: state.generation + 1, runningSinceMs: nowMs, nextRetryAtMs: null, waiterPid: null });
}

// Whether `pid` is the waiter of a restart of `name` (what restart.json recorded).
export function isWaiterOf(pid: number, name: string): Promise<boolean> {
  return runsCommand(pid, [WAITER_COMMAND, name]);
}
