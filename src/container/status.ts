// What state a container is in, from ckpt's record and the runtime's view. Pure.
import type { ContainerRecord } from "../store/container-record.ts";
import type { RuntimeState } from "../runtimes/runtime-cli.ts";

export type ContainerStatus = "created" | "running" | "paused" | "exited" | "checkpointed" | "unknown";

export function containerStatus(record: ContainerRecord, state: RuntimeState | null): ContainerStatus {
  if (state !== null && (state.status === "running" || state.status === "created" || state.status === "paused")) return state.status;
  if (record.checkpointedTo !== null) return "checkpointed";
  if (state === null || state.status === "stopped") return "exited";
  return "unknown";
}

// The host PID of the container's PID 1 while it runs.
export function containerPid(state: RuntimeState | null): number | null {
  return state !== null && state.pid > 0 && state.status !== "stopped" ? state.pid : null;
}
