// `ckpt restore`: find the checkpoint, plan the clocks, apply the plan for CRIU, restore
// under a new monitor. A failed restore leaves nothing half-created and the checkpoint
// untouched.
import { existsSync } from "node:fs";
import { readFile, rename, rm, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { listCheckpoints } from "../checkpoint/checkpoint-store.ts";
import { readManifest, type Manifest } from "../checkpoint/manifest.ts";
import { readBootId, readHostClocks } from "../clock/host-clocks.ts";
import { planRestoreClock, type RestoreClockPlan, type TimeMode } from "../clock/restore-plan.ts";
import { parseTimensOffsets } from "../clock/timespec.ts";
import { holdTimeNamespace, type TimeNamespaceHolder } from "../clock/time-namespace-holder.ts";
import { runtimeFor } from "../container/context.ts";
import { monitorArgs, prepareContainerDir } from "../container/run.ts";
import { criuEvidence } from "../criu/version.ts";
import { CkptError, ExitCode } from "../errors.ts";
import { createMonitorArgv } from "../monitor/conmon-argv.ts";
import { startMonitor } from "../monitor/conmon.ts";
import { readOciSpec } from "../oci/spec.ts";
import { specAfterRestore, specForRestore } from "../container/container-spec.ts";
import { writeFileAtomic } from "../store/atomic-write.ts";
import { readTimeNamespace, readTimensOffsetsText } from "../proc/process.ts";
import { restoreOptionArgs, type RuntimeName } from "../runtimes/runtime.ts";
import type { ContainerRecord } from "../store/container-record.ts";
import type { ContainerStore } from "../store/container-store.ts";
import { newContainerId, validateContainerName } from "../store/names.ts";
import { containerStatus, isActive } from "../container/status.ts";

export interface RestoreRequest {
  // A container name (its latest checkpoint) or a checkpoint directory.
  source: string;
  newName: string | undefined;
  runtime: RuntimeName | undefined;
  timeMode: TimeMode;
  tcpEstablished: boolean;
  fileLocks: boolean;
}

export interface RestoreResult {
  record: ContainerRecord;
  pid: number;
  checkpoint: string;
  manifest: Manifest;
  plan: Exclude<RestoreClockPlan, { kind: "refused" }>;
  timeNamespace: { inode: number; host: boolean; offsets: { monotonicNs: bigint; boottimeNs: bigint } | null };
  downtimeNs: bigint;
  durationNs: bigint;
}

export async function resolveCheckpoint(store: ContainerStore, source: string): Promise<string> {
  if (source.includes("/") || existsSync(join(source, "manifest.json"))) return resolve(source);
  const found = await listCheckpoints(store.layout, source);
  const latest = found.at(-1);
  if (latest === undefined) {
    throw new CkptError(ExitCode.notFound, `no checkpoint of "${source}" in the store`, { hint: "`ckpt checkpoints` lists what the store holds; a checkpoint directory can be given as a path" });
  }
  return latest.dir;
}

export async function restoreContainer(store: ContainerStore, request: RestoreRequest): Promise<RestoreResult> {
  const started = process.hrtime.bigint();
  const checkpoint = await resolveCheckpoint(store, request.source);
  const manifest = await readManifest(checkpoint);
  const imageDir = join(checkpoint, "images");
  if (!existsSync(join(imageDir, "inventory.img"))) throw new CkptError(ExitCode.badCheckpoint, `${checkpoint} has no CRIU images (images/inventory.img is missing)`);
  const namespaces = new Set(manifest.tasks.map((t) => t.timeNamespaceInode));
  if (namespaces.size > 1) {
    throw new CkptError(ExitCode.badCheckpoint, `the checkpoint's tasks are in ${namespaces.size} time namespaces: CRIU would fail with "Can't restore sub-task in NS"`, {
      evidence: manifest.tasks.map((t) => `PID ${t.pid} (${t.command}): time namespace ${t.timeNamespaceInode}`),
    });
  }

  const name = validateContainerName(request.newName ?? manifest.container.name);
  const runtimeName = request.runtime ?? manifest.runtime.name;
  const runtime = runtimeFor(store, runtimeName);

  // Plan the clocks before anything is created.
  const [hostNow, bootId] = await Promise.all([readHostClocks(), readBootId()]);
  const t = manifest.timeNamespace;
  const plan = planRestoreClock(
    request.timeMode,
    { declaredTimeNamespace: t.declared || !t.pid1InHostNamespace, monotonicNs: BigInt(t.dumpedMonotonicNs), boottimeNs: BigInt(t.dumpedBoottimeNs), hostRealtimeNs: BigInt(t.host.realtimeNs), bootId: manifest.bootId },
    { ...hostNow, bootId, timeNamespaces: existsSync("/proc/self/ns/time") },
  );
  if (plan.kind === "refused") throw new CkptError(ExitCode.refused, `refusing --time-mode ${plan.mode}: ${plan.reason}`, { hint: plan.hint });

  // The container record: a stopped one of the same name is reused, a running one is a conflict.
  const existing = await store.find(name);
  let record: ContainerRecord;
  if (existing !== null) {
    const existingRuntime = runtimeFor(store, existing.runtime, existing.runtimePath);
    const status = containerStatus(existing, await existingRuntime.state(existing.id));
    if (isActive(status)) {
      throw new CkptError(ExitCode.conflict, `container "${name}" is ${status}`, { hint: `restore under another name with --name, or stop it first: ckpt stop ${name}` });
    }
    await existingRuntime.delete(existing.id, true);
    record = { ...existing, runtime: runtimeName, runtimePath: runtime.path, restoredFrom: checkpoint };
  } else {
    await store.claim(name);
    record = {
      formatVersion: 1,
      name,
      id: request.newName === undefined ? manifest.container.id : newContainerId(),
      runtime: runtimeName,
      runtimePath: runtime.path,
      sourceBundle: manifest.container.sourceBundle || null,
      rootfs: manifest.container.rootfs,
      createdAtNs: String(hostNow.realtimeNs),
      restoredFrom: checkpoint,
      checkpointedTo: null,
    };
  }

  const layout = store.layout;
  let holder: TimeNamespaceHolder | undefined;
  try {
    const dumpedSpec = await readOciSpec(join(checkpoint, "spec.dump"));
    if (!existsSync(dumpedSpec.root.path)) throw new CkptError(ExitCode.notFound, `the container's root filesystem ${dumpedSpec.root.path} does not exist on this host`, { hint: "restore needs the same root filesystem at the same path" });

    // Apply the clock plan: join the host's namespace, or one made with the planned
    // offsets (exact to the nanosecond, whenever CRIU gets to it), or let CRIU make one
    // that resumes the dumped clocks.
    let joinPath: string | null = null;
    if (plan.kind === "host-namespace" && existsSync("/proc/self/ns/time")) {
      joinPath = `/proc/${process.pid}/ns/time`;
    } else if (plan.kind === "new-namespace" && (plan.monotonicNs !== BigInt(t.dumpedMonotonicNs) || plan.boottimeNs !== BigInt(t.dumpedBoottimeNs))) {
      holder = await holdTimeNamespace(plan.offsets);
      joinPath = holder.path;
    }
    const viaSpec = runtime.adapter.restoreJoinsTimeNamespaceVia === "spec-namespace-path";
    await prepareContainerDir(store, name, specForRestore(dumpedSpec, layout.criuConfig(name), viaSpec ? joinPath : null));
    if (joinPath !== null && !viaSpec) await writeFile(layout.criuConfig(name), `join-ns time:${joinPath}\n`);
    await store.save(record);

    const pid = await startMonitor(
      createMonitorArgv({ ...monitorArgs(store, record), restoreFrom: { imageDir, runtimeOptions: restoreOptionArgs(request) } }),
      `${runtimeName} restore`,
    ).catch(async (error: unknown) => {
      throw await restoreFailure(store, name, error);
    });

    // The next dump must not see join-ns (CRIU refuses it there), nor the next restore a
    // path to a namespace that is gone.
    await writeFile(layout.criuConfig(name), "");
    await writeFileAtomic(join(layout.bundleDir(name), "config.json"), `${JSON.stringify(specAfterRestore(specForRestore(dumpedSpec, layout.criuConfig(name), null), t.declared), null, 2)}\n`);
    await store.save({ ...record, checkpointedTo: null });
    const [inode, hostInode, offsetsText] = await Promise.all([readTimeNamespace(pid), readTimeNamespace("self"), readTimensOffsetsText(pid)]);
    const after = await readHostClocks();
    return {
      record: { ...record, checkpointedTo: null },
      pid,
      checkpoint,
      manifest,
      plan,
      timeNamespace: { inode, host: inode === hostInode, offsets: offsetsText === null ? null : parseTimensOffsets(offsetsText) },
      downtimeNs: after.realtimeNs - BigInt(manifest.checkpointedAtNs),
      durationNs: process.hrtime.bigint() - started,
    };
  } catch (error) {
    await runtime.delete(record.id, true).catch(() => {});
    if (existing === null) await store.remove(name);
    else await store.save(existing).then(() => writeFile(layout.criuConfig(name), "")).catch(() => {});
    throw error;
  } finally {
    await holder?.release();
  }
}

// A restore error with CRIU's evidence; its log is kept next to the container record, or
// in the checkpoint's parent when the container record goes away.
async function restoreFailure(store: ContainerStore, name: string, error: unknown): Promise<unknown> {
  const logPath = join(store.layout.bundleDir(name), "restore.log");
  const log = await readFile(logPath, "utf8").catch(() => null);
  if (log === null || !(error instanceof CkptError)) return error;
  const kept = join(store.layout.root, `restore-failed-${name}-${Date.now()}.log`);
  await rename(logPath, kept).catch(() => {});
  return new CkptError(ExitCode.criuFailed, `CRIU could not restore "${name}"; the checkpoint is untouched and nothing was left running`, {
    evidence: [...criuEvidence(log), ...error.evidence.slice(-2)],
    hint: `the full log is kept in ${kept}`,
  });
}
