// Creates and starts a container from an OCI bundle under a conmon monitor.
import { existsSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { CkptError, ExitCode } from "../errors.ts";
import { createMonitorArgv } from "../monitor/conmon-argv.ts";
import { startMonitor } from "../monitor/conmon.ts";
import { readOciSpec } from "../oci/spec.ts";
import { createsTimeNamespace } from "../runtimes/runtime.ts";
import type { RuntimeChoice } from "../runtimes/choice.ts";
import type { ContainerRecord } from "../store/container-record.ts";
import type { ContainerStore } from "../store/container-store.ts";
import { writeFileAtomic } from "../store/atomic-write.ts";
import { generatedName, newContainerId, validateContainerName } from "../store/names.ts";
import { planContainerSpec } from "./container-spec.ts";
import { captureBundleCriuConfig, containerCriuConfig, writeCriuConfig, type CriuConfigReport } from "../criu/operator-config.ts";
import { linkReaderIn } from "./path-in-root.ts";
import { runtimeFor } from "./context.ts";
import type { RuntimeCli } from "../runtimes/runtime-cli.ts";
import { exitHandlerArgv } from "../restart/exit-command.ts";
import { freshRestartState, NO_RESTART, type RestartPolicy } from "../restart/policy.ts";
import { writeRestartState } from "../restart/restart-state.ts";
import { planNetwork, specWithNetwork, type NetworkRequest } from "../network/plan-network.ts";
import { releaseNetwork } from "../network/network-namespace.ts";
import { ensureNetwork, refuseUnhostableNetwork } from "../network/container-network.ts";

export interface RunRequest {
  bundle: string;
  name: string | undefined;
  runtime: RuntimeChoice;
  command: string[] | undefined;
  restart?: RestartPolicy;
  network?: NetworkRequest | undefined;
}

export interface RunResult {
  record: ContainerRecord;
  pid: number;
  ownTimeNamespace: boolean;
  warnings: string[];
  // What ckpt changed in the spec that needs no action (said with -v).
  notes: string[];
  criuConfig: CriuConfigReport;
}

export async function runContainer(store: ContainerStore, request: RunRequest): Promise<RunResult> {
  const id = newContainerId();
  const name = validateContainerName(request.name ?? generatedName(id));
  const sourceBundle = resolve(request.bundle);
  const source = await readOciSpec(join(sourceBundle, "config.json"));
  const runtime = runtimeFor(store, request.runtime.name, request.runtime.path);
  const version = await runtime.version();
  const layout = store.layout;
  const network = planNetwork(source, request.network ?? {}, id);
  const planned = planContainerSpec(specWithNetwork(source, network, layout.networkNamespace(name)), {
    sourceBundle,
    command: request.command,
    criuConfigPath: layout.criuConfig(name),
    timeNamespaceAvailable: existsSync("/proc/self/ns/time") && createsTimeNamespace(runtime.adapter, version),
    timeNamespaceBreaksJoining: { runtime: runtime.adapter.name, types: runtime.adapter.timeNamespaceBreaksJoining },
    linksIn: linkReaderIn,
  });
  if (!existsSync(planned.rootfs)) {
    throw new CkptError(ExitCode.notFound, `the bundle's root filesystem ${planned.rootfs} does not exist`, { hint: "root.path in config.json names it, relative to the bundle" });
  }

  await store.claim(name);
  const record: ContainerRecord = {
    formatVersion: 1,
    name,
    id,
    runtime: request.runtime.name,
    runtimePath: runtime.path,
    sourceBundle,
    rootfs: planned.rootfs,
    createdAtNs: String(BigInt(Date.now()) * 1_000_000n),
    restoredFrom: null,
    checkpointedTo: null,
    restart: request.restart ?? NO_RESTART,
    network,
  };
  try {
    await refuseUnhostableNetwork(store, record);
    await prepareContainerDir(store, name, planned.spec);
    // The bundle's own CRIU configuration is read now, from the operator's bundle, and
    // kept beside the container: it travels with each checkpoint.
    const captured = await captureBundleCriuConfig(source, sourceBundle, layout.bundleCriuConfig(name));
    const criuConfig = await writeCriuConfig(containerCriuConfig(layout, name, planned.spec, { adapter: runtime.adapter, version }, "dump", []));
    await store.save(record);
    // Before the monitor starts: a container that exits at once finds its restart state.
    if (record.restart.policy !== "no") await writeRestartState(layout, name, freshRestartState(Date.now()));
    const pid = await startFromBundle(store, record, runtime);
    return { record, pid, ownTimeNamespace: planned.ownTimeNamespace, warnings: [...planned.warnings, ...captured.warnings, ...criuConfig.warnings], notes: planned.notes, criuConfig: criuConfig.report };
  } catch (error) {
    await runtime.delete(id, true).catch(() => {});
    await releaseNetwork(network, layout.networkNamespace(name)).catch(() => {});
    await store.remove(name);
    throw error;
  }
}

// Creates the container from ckpt's bundle under a new conmon and starts it: `run`, and
// each restart of `run --restart`. Returns its PID 1.
export async function startFromBundle(store: ContainerStore, record: ContainerRecord, runtime: RuntimeCli): Promise<number> {
  await ensureNetwork(store, record);
  const pid = await startMonitor(createMonitorArgv(monitorArgs(store, record)), `${record.runtime} create`);
  await runtime.start(record.id);
  return pid;
}

// Writes ckpt's bundle (config.json), the empty CRIU config and the monitor's directories.
export async function prepareContainerDir(store: ContainerStore, name: string, spec: object): Promise<void> {
  const layout = store.layout;
  await Promise.all([
    mkdir(layout.bundleDir(name), { recursive: true, mode: 0o700 }),
    mkdir(layout.exitDir(name), { recursive: true, mode: 0o700 }),
    mkdir(layout.execDir(name), { recursive: true, mode: 0o700 }),
  ]);
  await writeFileAtomic(join(layout.bundleDir(name), "config.json"), `${JSON.stringify(spec, null, 2)}\n`);
  await writeFile(layout.criuConfig(name), "", { mode: 0o600 });
}

export function monitorArgs(store: ContainerStore, record: ContainerRecord) {
  const layout = store.layout;
  return {
    ...(record.restart.policy === "no" ? {} : { exitCommand: exitHandlerArgv(layout.root, record.name) }),
    id: record.id,
    name: record.name,
    runtimePath: record.runtimePath,
    runtimeStateRoot: layout.runtimeStateRoot(record.runtime),
    bundleDir: layout.bundleDir(record.name),
    socketDir: layout.containerDir(record.name),
    containerPidFile: layout.containerPidFile(record.name),
    monitorPidFile: layout.monitorPidFile(record.name),
    logPath: layout.containerLog(record.name),
    exitDir: layout.exitDir(record.name),
  };
}
