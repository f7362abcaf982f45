// Opens what a command needs to act on one container: the store, the record, the runtime.
import type { Settings } from "../config/resolve.ts";
import { statSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { CkptError, ExitCode } from "../errors.ts";
import { RuntimeCli } from "../runtimes/runtime-cli.ts";
import type { RuntimeName } from "../runtimes/runtime.ts";
import type { ContainerRecord } from "../store/container-record.ts";
import { ContainerStore } from "../store/container-store.ts";
import { containerPid, containerStatus, type ContainerStatus } from "./status.ts";

export interface ContainerContext {
  store: ContainerStore;
  record: ContainerRecord;
  runtime: RuntimeCli;
}

// The store under the `root` setting. A root that exists but is not a directory is a
// usage error (it is created, as a directory, when missing).
export function openStore(from: { settings: Settings }): ContainerStore {
  const root = from.settings.root.value;
  // The root, or the nearest of its parents that exists (the root is created below it).
  let path = resolve(root);
  let found = statSync(path, { throwIfNoEntry: false });
  while (found === undefined && path !== dirname(path)) {
    path = dirname(path);
    found = statSync(path, { throwIfNoEntry: false });
  }
  const isDirectory = found?.isDirectory() ?? true;
  if (!isDirectory) {
    throw new CkptError(ExitCode.usage, `--root ${root} is not a directory`, { hint: "give ckpt's state directory with --root (or CKPT_ROOT), or remove what is there" });
  }
  return new ContainerStore(root);
}

export function runtimeFor(store: ContainerStore, name: RuntimeName, path?: string): RuntimeCli {
  return RuntimeCli.locate(name, store.layout.runtimeStateRoot(name), path);
}

export async function openContainer(store: ContainerStore, name: string): Promise<ContainerContext> {
  const record = await store.get(name);
  return { store, record, runtime: runtimeFor(store, record.runtime, record.runtimePath) };
}

export interface LiveState {
  status: ContainerStatus;
  pid: number | null;
}

export async function liveState(ctx: ContainerContext): Promise<LiveState> {
  const state = await ctx.runtime.state(ctx.record.id);
  return { status: containerStatus(ctx.record, state), pid: containerPid(state) };
}

// After CRIU was ended or failed: a container left frozen is thawed. Returns the state
// seen before the thaw ("paused" means ckpt thawed it).
export async function thawIfPaused(ctx: ContainerContext): Promise<LiveState> {
  const seen = await liveState(ctx);
  if (seen.status === "paused") await ctx.runtime.resume(ctx.record.id).catch(() => {});
  return seen;
}
