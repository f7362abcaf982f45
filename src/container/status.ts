// What state a container is in, from ckpt's record and the runtime's view. Pure.
import type { ContainerRecord } from "../store/container-record.ts";
import type { RuntimeState } from "../runtimes/runtime-cli.ts";

export type ContainerStatus = "created" | "running" | "paused" | "exited" | "checkpointed" | "unknown";

// The statuses in which the container has processes: created, running or paused.
export function isActive(status: string): status is "created" | "running" | "paused" {
  return status === "running" || status === "created" || status === "paused";
}

export function containerStatus(record: ContainerRecord, state: RuntimeState | null): ContainerStatus {
  if (state !== null && isActive(state.status)) return state.status;
  if (record.checkpointedTo !== null) return "checkpointed";
  if (state === null || state.status === "stopped") return "exited";
  return "unknown";
}

// The host PID of the container's PID 1 while it runs.
export function containerPid(state: RuntimeState | null): number | null {
  return state !== null && state.pid > 0 && state.status !== "stopped" ? state.pid : null;
}
