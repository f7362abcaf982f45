// A container whose record (container.json) cannot be read. It is found through what does
// not depend on the record: the runtime's state (its bundle is the container's copy under
// ROOT/containers/NAME/bundle) and the monitor's PID file (conmon's command line names the
// container's directory). `ps` shows it, `rm -f` ends and removes it.
import { readdir } from "node:fs/promises";
import { resolve } from "node:path";
import { releaseNetwork } from "../network/network-namespace.ts";
import { killAll, readProcStat } from "../proc/process.ts";
import { RuntimeCli } from "../runtimes/runtime-cli.ts";
import type { RuntimeName } from "../runtimes/runtime.ts";
import type { ContainerStore } from "../store/container-store.ts";
import { isActive } from "./status.ts";
import { liveMonitor } from "./monitor-process.ts";

export interface DamagedContainer {
  name: string;
  damage: string;
  // conmon, when monitor.pid names a live process whose command line names this container.
  monitorPid: number | null;
  // The runtime's container whose bundle is this container's.
  runtime: { name: RuntimeName; cli: RuntimeCli; id: string; status: string; pid: number | null } | null;
}

const RUNTIMES: RuntimeName[] = ["runc", "crun"];

export async function inspectDamaged(store: ContainerStore, name: string, damage: string): Promise<DamagedContainer> {
  const monitor = await liveMonitor(store.layout, name);
  return { name, damage, monitorPid: monitor?.pid ?? null, runtime: await runtimeContainerOf(store, name, monitor?.id ?? null) };
}

// Whether anything of it still runs: its monitor, or processes of its runtime container.
export function damagedIsAlive(d: DamagedContainer): boolean {
  return d.monitorPid !== null || (d.runtime !== null && isActive(d.runtime.status));
}

// Ends what still runs of it (monitor, then the container's processes, through the
// runtime), deletes the runtime's container, unbinds its network namespace and removes
// its directory (never through a mount: store.remove refuses).
export async function removeDamaged(store: ContainerStore, d: DamagedContainer): Promise<void> {
  if (d.monitorPid !== null) {
    killAll([d.monitorPid]);
    await gone(d.monitorPid, 5_000);
  }
  if (d.runtime !== null) {
    await d.runtime.cli.kill(d.runtime.id, "KILL").catch(() => {});
    await d.runtime.cli.delete(d.runtime.id, true);
    if (d.runtime.pid !== null) await gone(d.runtime.pid, 10_000);
  }
  // The namespace goes when nothing holds it; its veth pair with it.
  await releaseNetwork(undefined, store.layout.networkNamespace(d.name));
  await store.remove(d.name);
}

// The runtime container created from this container's bundle: the monitor's id first,
// else every container in the runtimes' state directories under this root.
async function runtimeContainerOf(store: ContainerStore, name: string, monitorId: string | null): Promise<DamagedContainer["runtime"]> {
  const bundle = resolve(store.layout.bundleDir(name));
  for (const runtime of RUNTIMES) {
    const stateRoot = store.layout.runtimeStateRoot(runtime);
    const ids = (await readdir(stateRoot).catch(() => [] as string[])).filter((id) => /^[\w.-]+$/.test(id));
    if (ids.length === 0) continue;
    let cli: RuntimeCli;
    try {
      cli = RuntimeCli.locate(runtime, stateRoot);
    } catch {
      continue;
    }
    const ordered = monitorId !== null && ids.includes(monitorId) ? [monitorId, ...ids.filter((i) => i !== monitorId)] : ids;
    for (const id of ordered) {
      const state = await cli.state(id).catch(() => null);
      if (state?.bundle !== undefined && resolve(state.bundle) === bundle) {
        return { name: runtime, cli, id, status: state.status, pid: state.pid > 0 && state.status !== "stopped" ? state.pid : null };
      }
    }
  }
  return null;
}

// Waits until `pid` has exited (a zombie counts as exited: its parent reaps it).
async function gone(pid: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    const stat = await readProcStat(pid).catch(() => null);
    if (stat === null || stat.state === "Z") return true;
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
}
