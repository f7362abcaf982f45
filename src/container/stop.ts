// Stops a container: SIGTERM, a grace period, then SIGKILL; says which signal ended it.
import { CkptError, ExitCode } from "../errors.ts";
import { liveState, type ContainerContext } from "./context.ts";
import { isActive } from "./status.ts";
import { holdRestarts } from "../restart/restart-state.ts";
import { releaseContainerNetwork } from "../network/container-network.ts";

export interface StopResult {
  name: string;
  // The signal that ended it, or null when it was not running.
  signal: "SIGTERM" | "SIGKILL" | null;
  wasRunning: boolean;
}

export async function stopContainer(ctx: ContainerContext, graceSeconds: number, why = "stopped"): Promise<StopResult> {
  const result = await endContainer(ctx, graceSeconds, why);
  // A stopped container's address must not answer (its peers would be reset); a start or
  // a restore builds its network again.
  await releaseContainerNetwork(ctx.store, ctx.record);
  return result;
}

async function endContainer(ctx: ContainerContext, graceSeconds: number, why: string): Promise<StopResult> {
  const name = ctx.record.name;
  // A restart policy does not bring back what ckpt stops, nor one that is waiting to restart.
  await holdRestarts(ctx.store.layout, ctx.record, why);
  const live = await liveState(ctx);
  if (live.status === "paused") await ctx.runtime.resume(ctx.record.id);
  if (!isActive(live.status)) return { name, signal: null, wasRunning: false };
  await ctx.runtime.kill(ctx.record.id, "TERM").catch(() => {});
  if (await stoppedWithin(ctx, graceSeconds * 1000)) return { name, signal: "SIGTERM", wasRunning: true };
  await ctx.runtime.kill(ctx.record.id, "KILL").catch(() => {});
  if (await stoppedWithin(ctx, 10_000)) return { name, signal: "SIGKILL", wasRunning: true };
  throw new CkptError(ExitCode.runtimeFailed, `container "${name}" did not stop even after SIGKILL`, { hint: "it may be stuck in the kernel (state D); check its processes with ps" });
}

async function stoppedWithin(ctx: ContainerContext, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    const state = await ctx.runtime.state(ctx.record.id);
    if (state === null || state.status === "stopped") return true;
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
}
