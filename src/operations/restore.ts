// `ckpt restore`: find the checkpoint, plan the clocks, apply the plan for CRIU, restore
// under a new monitor. A failed restore leaves nothing half-created and the checkpoint
// untouched.
import { refuseUnallowedSpec, vetImportedSpec } from "../restore/spec-policy.ts";
import { refuseSplitTimeNamespaces, resolveCheckpoint } from "../restore/resolve-checkpoint.ts";
import { readHardLimits } from "../host/process-limits.ts";
import { beginIntent, faultPoint } from "./intent.ts";
import { recoverContainer } from "./recover.ts";
import { existsSync, realpathSync } from "node:fs";
import { cp, readFile, rename, rm, rmdir, writeFile } from "node:fs/promises";
import { unmountBelow } from "../host/mounts.ts";
import { NetworkConfigSchema } from "../store/network-config.ts";
import { networkForId, raiseNetwork, rebuildNetwork, refuseUnhostableNetwork, releaseContainerNetwork } from "../network/container-network.ts";
import { importedNetworkProblem, networkForExternalDump, planNetwork, PRIVATE_NETWORK_SPEC, specWithNetwork, type NetworkRequest } from "../network/plan-network.ts";
import { readExternalNetnsKeys } from "../criu/images.ts";
import { dirname, isAbsolute, join, resolve } from "node:path";
import type { Manifest } from "../checkpoint/manifest.ts";
import { CheckpointFiles } from "../checkpoint/checkpoint-dir.ts";
import { readDumpContents } from "../criu/dump-contents.ts";
import { checkpointKind, openCheckpointSource } from "../restore/checkpoint-source.ts";
import { recordLazyPages, startLazyPagesDaemon, type LazyPagesDaemon } from "../restore/lazy-pages-daemon.ts";
import { formatPageServer, parsePageServer, type PageServerAddress } from "../migrate/page-server.ts";
import { createPlaceholders, planImportedSpec, prepareImportedRootfs } from "../restore/imported-rootfs.ts";
import { createMountpoints, isDirectoryOrMissing, planMountpoints } from "../restore/mountpoints.ts";
import { readBootId, readHostClocks } from "../clock/host-clocks.ts";
import { planRestoreClock, type RestoreClockPlan, type TimeMode } from "../clock/restore-plan.ts";
import { parseTimensOffsets } from "../clock/timespec.ts";
import { holdTimeNamespace, type TimeNamespaceHolder } from "../clock/time-namespace-holder.ts";
import { runtimeFor } from "../container/context.ts";
import { monitorArgs, prepareContainerDir } from "../container/run.ts";
import { criuEvidence } from "../criu/version.ts";
import { findRestoringRuntime, watchCriu } from "../criu/criu-watchdog.ts";
import { CkptError, ExitCode } from "../errors.ts";
import { createMonitorArgv } from "../monitor/conmon-argv.ts";
import { startMonitor } from "../monitor/conmon.ts";
import { readOciSpec } from "../oci/spec.ts";
import { specAfterRestore, specForRestore, withoutTimeNamespace } from "../container/container-spec.ts";
import { writeFileAtomic } from "../store/atomic-write.ts";
import { readTimeNamespace, readTimensOffsetsText } from "../proc/process.ts";
import { createsTimeNamespace, oneClockKeeper, restoreOptionArgs, type RuntimeName } from "../runtimes/runtime.ts";
import { configuredPathOf, type RuntimeChoice } from "../runtimes/choice.ts";
import { installedCriuVersion } from "../criu/installed.ts";
import { compareDumpAndRestore, type RestoreVersions } from "../restore/versions.ts";
import { planRestoreOptions, recordedDumpOptions, unpassableOptions, type RequestedRestoreOptions, type RestoreOptionsPlan } from "../restore/restore-options.ts";
import { readDumpedOptionsEvidence } from "../criu/dumped-options.ts";
import { criuOptionName, type DumpOptionName } from "../criu/dump-options.ts";
import { containerCriuConfig, copyBundleCriuConfig, foreignCriuConfigWarning, ownCriuOptions, writeCriuConfig, type WrittenCriuConfig } from "../criu/operator-config.ts";
import type { ContainerRecord } from "../store/container-record.ts";
import type { ContainerStore } from "../store/container-store.ts";
import type { RuntimeCli } from "../runtimes/runtime-cli.ts";
import { newContainerId, validateContainerName } from "../store/names.ts";
import { lockContainer, type HeldLock } from "../store/locks.ts";
import { containerStatus, isActive } from "../container/status.ts";
import { beginRun, holdRestarts } from "../restart/restart-state.ts";
import { NO_RESTART, RestartPolicySchema, type RestartPolicy } from "../restart/policy.ts";

export interface RestoreRequest {
  // A container name (its latest checkpoint) or a checkpoint directory.
  source: string;
  newName: string | undefined;
  // The runtime the operator chose (a kind and perhaps its binary); undefined: the one the
  // container of that name was created with, else the checkpoint's kind, its binary from
  // `runtimePaths` or PATH. Never a path the checkpoint names (an archive may name any).
  runtime: RuntimeChoice | undefined;
  // The runtimes setting: binaries by name (runtimes/choice.ts).
  runtimePaths?: Readonly<Record<string, string>> | undefined;
  timeMode: TimeMode;
  // The dump options the command line asked for; the checkpoint's own apply unless a
  // flag says otherwise (restore-options.ts).
  options: RequestedRestoreOptions;
  // The bundle whose config.json is the spec, for a bare directory of CRIU images.
  bundle?: string | undefined;
  // The operator's own spec for the container, instead of the one the checkpoint carries.
  spec?: string | undefined;
  // The operator's restart policy (a foreign checkpoint's own is not honoured).
  restart?: RestartPolicy | undefined;
  // Set when the checkpoint was unpacked from an archive: the container gets its own copy
  // of the root filesystem (the archive's, or `rootfsBase` plus podman's changes).
  imported?: { label: string; rootfsBase?: string | undefined } | undefined;
  // End a restore whose log and reads have not moved for this long (ms).
  progressTimeoutMs?: number | undefined;
  // Where a lazy checkpoint's memory is served (its manifest's page server by default).
  lazyPagesFrom?: PageServerAddress | undefined;
  // The operator's network for the restored container, instead of the one it was dumped in.
  network?: NetworkRequest | undefined;
  // What an imported checkpoint's spec may ask that is refused otherwise (spec-policy.ts).
  allow?: readonly string[] | undefined;
  // The key that signed an imported archive, when this host trusts it: the checkpoint is
  // then as trusted as one made here (its spec and restart policy are taken as they are).
  trustedSigner?: TrustedSigner | undefined;
  // How long to wait for a container another command holds (store/locks.ts).
  lockTimeoutMs?: number | undefined;
}

export interface TrustedSigner {
  fingerprint: string;
  name: string;
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
  // The dump options given to CRIU and where each came from, and the CRIU configuration
  // file the restore ran with.
  options: Extract<RestoreOptionsPlan, { kind: "ok" }>;
  criuConfig: WrittenCriuConfig;
  // The runtime and CRIU that dumped it and restore it, and who keeps exec'd processes on
  // PID 1's clock from now on (restore/versions.ts).
  versions: RestoreVersions;
  // A post-copy restore: the daemon fetching the memory, which outlives this command.
  lazyPages: { from: string; daemonPid: number; logPath: string; daemon: LazyPagesDaemon } | null;
}

// Whether `source` names a container of the store (its latest checkpoint), not a directory.
function isStoreName(source: string): boolean {
  return !source.includes("/") && checkpointKind(source) === null;
}

// LOCKS: a restore holds the lock of the container it restores, from the moment its name
// is known to the end, and first that of the container whose latest checkpoint it reads
// (never one a running checkpoint is about to supersede). restoreContainerLocked takes the
// target's through `lockName`, in one marked line.
export async function restoreContainer(store: ContainerStore, request: RestoreRequest): Promise<RestoreResult> {
  const locks: HeldLock[] = [];
  const lockName = async (name: string) => void locks.push(await lockContainer(store.layout, name, { timeoutMs: request.lockTimeoutMs }));
  try {
    if (isStoreName(request.source)) await lockName(request.source);
    return await restoreContainerLocked(store, request, lockName);
  } finally {
    for (const lock of locks.reverse()) lock.release();
  }
}

async function restoreContainerLocked(store: ContainerStore, request: RestoreRequest, lockName: (name: string) => Promise<void>): Promise<RestoreResult> {
  const started = process.hrtime.bigint();
  // A container name: an interrupted operation on it is finished first, so that the
  // newest checkpoint is the one a killed checkpoint completed, never an older one.
  if (!request.source.includes("/") && checkpointKind(request.source) === null) await recoverContainer(store, request.source);
  const checkpoint = await resolveCheckpoint(store, request.source);
  if (request.spec !== undefined && request.bundle !== undefined) throw new CkptError(ExitCode.usage, "give either --spec FILE or --bundle DIR, not both", { hint: "--bundle DIR reads DIR/config.json" });
  const source = await openCheckpointSource(checkpoint, { bundle: request.bundle, spec: request.spec, runtime: request.runtime?.name });
  const manifest = source.manifest;
  const imageDir = source.imagesDir;
  const label = request.imported?.label ?? checkpoint;
  refuseSplitTimeNamespaces(await readDumpContents(imageDir, { details: false }), label);
  const importedRootfs = request.imported !== undefined && (manifest.rootfsInArchive === "full" || request.imported.rootfsBase !== undefined || existsSync(join(checkpoint, CheckpointFiles.rootfsDiff)));
  if (importedRootfs && manifest.rootfsInArchive !== "full" && request.imported?.rootfsBase === undefined) {
    const image = typeof source.engineConfig?.["rootfsImageName"] === "string" ? ` (${source.engineConfig["rootfsImageName"]})` : "";
    throw new CkptError(ExitCode.usage, `${label} holds only the changes made to its image's root filesystem${image}`, {
      hint: "give that image's root filesystem with --rootfs DIR (for example a directory from `podman image mount`, or the tar `podman import` was given, unpacked)",
    });
  }

  const name = validateContainerName(request.newName ?? manifest.container.name);
  await lockName(name); // LOCKS: the target name's, until restoreContainer returns.
  const chosen = request.runtime ?? (await recordedRuntime(store, name, manifest.runtime.name)) ?? { name: manifest.runtime.name, path: configuredPathOf(manifest.runtime.name, request.runtimePaths ?? {}) };
  const runtimeName = chosen.name;
  const runtime = runtimeFor(store, chosen.name, chosen.path);
  const lazyFrom = request.lazyPagesFrom ?? (manifest.lazyPagesFrom === "" ? undefined : parsePageServer(manifest.lazyPagesFrom));
  if (lazyFrom !== undefined && !runtime.adapter.lazyPages) {
    throw new CkptError(ExitCode.usage, `${label} holds no memory (a lazy dump) and ${runtimeName} cannot restore lazily`, { hint: "restore it with --runtime runc, or migrate without --lazy" });
  }

  // The checkpoint's dump options, unless a flag says otherwise: decided before anything
  // is created, like the clocks.
  const optionsPlan = planRestoreOptions(recordedDumpOptions(manifest.options, await readDumpedOptionsEvidence(imageDir)), request.options);
  if (optionsPlan.kind === "refused") throw new CkptError(ExitCode.refused, `refusing to restore ${label}: ${optionsPlan.reason}`, { hint: optionsPlan.hint });
  const [runtimeVersion, criuVersion] = await Promise.all([runtime.version(), installedCriuVersion()]);
  // What differs from the runtime and CRIU that dumped it, and who keeps one clock now.
  const versions = compareDumpAndRestore(manifest, { runtime: runtimeName, runtimeVersion, runtimePath: runtime.path, criuVersion, oneClock: oneClockKeeper(runtime.adapter, runtimeVersion) });
  const unpassable = unpassableOptions(optionsPlan.options, runtime.adapter.criuConfig(runtimeVersion) !== null);
  if (unpassable.length > 0) {
    throw new CkptError(ExitCode.refused, `${label} needs ${unpassable.map((o) => `--${criuOptionName[o]}`).join(", ")}, and ${runtimeName} ${runtimeVersion} cannot give CRIU that: it has no such flag and has CRIU read no configuration file`, { hint: "restore it with --runtime runc" });
  }

  // Plan the clocks before anything is created.
  const [hostNow, bootId] = await Promise.all([readHostClocks(), readBootId()]);
  const t = manifest.timeNamespace;
  const plan = planRestoreClock(
    request.timeMode,
    { declaredTimeNamespace: t.declared || !t.pid1InHostNamespace, monotonicNs: BigInt(t.dumpedMonotonicNs), boottimeNs: BigInt(t.dumpedBoottimeNs), hostRealtimeNs: BigInt(t.host.realtimeNs), bootId: manifest.bootId },
    { ...hostNow, bootId, timeNamespaces: existsSync("/proc/self/ns/time") },
  );
  if (plan.kind === "refused") throw new CkptError(ExitCode.refused, `refusing --time-mode ${plan.mode}: ${plan.reason}`, { hint: plan.hint });

  // An interrupted operation on this name is finished or undone first (never restored over).
  await recoverContainer(store, name);
  // The container record: a stopped one of the same name is reused, a running one is a conflict.
  const existing = await store.find(name);
  let record: ContainerRecord;
  if (existing !== null) {
    // Its recorded binary, unless it is gone and this restore runs one of its kind (what
    // recordedRuntime fell back to): that one reads and deletes its state as well.
    const existingRuntime = existing.runtime === runtimeName && !existsSync(existing.runtimePath) ? runtime : runtimeFor(store, existing.runtime, existing.runtimePath);
    const status = containerStatus(existing, await existingRuntime.state(existing.id));
    if (isActive(status)) {
      throw new CkptError(ExitCode.conflict, `container "${name}" is ${status}`, { hint: `restore under another name with --name, or stop it first: ckpt stop ${name}` });
    }
    // An imported checkpoint takes over a stopped container's name only when it is that
    // container's own export (same id, exported from here): never another container's.
    if (request.imported !== undefined && (existing.id !== manifest.container.id || existing.checkpointedTo === null)) {
      throw new CkptError(ExitCode.conflict, `a container named "${name}" already exists here (${status}), and ${label} is not its export: an imported checkpoint never takes over another container's name`, {
        hint: `restore it under another name with --name NEW, or remove the other container first: ckpt rm ${name}`,
      });
    }
    await existingRuntime.delete(existing.id, true);
    // A container that was stopped or crashed (not checkpointed) still holds its network:
    // it is this container's own, built again below.
    await releaseContainerNetwork(store, existing);
    record = { ...existing, runtime: runtimeName, runtimePath: runtime.path, restoredFrom: label };
  } else {
    // The checkpoint's id is kept only when it is an id and nothing here uses it: the
    // runtime would refuse a taken one, and the failed restore's cleanup would then delete
    // the container that has it (an archive can carry any id).
    const id = request.newName === undefined && (await idIsFree(store, runtime, manifest.container.id)) ? manifest.container.id : newContainerId();
    await store.claim(name);
    record = {
      formatVersion: 1,
      name,
      id,
      runtime: runtimeName,
      runtimePath: runtime.path,
      sourceBundle: manifest.container.sourceBundle || null,
      rootfs: manifest.container.rootfs,
      createdAtNs: String(hostNow.realtimeNs),
      restoredFrom: label,
      checkpointedTo: null,
      // A migrated container keeps its restart policy (ckpt's record in config.dump).
      // A foreign one's is not honoured (it would start the container again, unasked).
      restart: (source.kind === "ckpt" && (request.imported === undefined || request.trustedSigner !== undefined) && RestartPolicySchema.safeParse(source.engineConfig?.["restart"]).data) || NO_RESTART,
    };
  }
  if (importedRootfs) record = { ...record, rootfs: join(store.layout.containerDir(name), "rootfs"), sourceBundle: null };
  if (request.restart !== undefined) record = { ...record, restart: request.restart };
  // The network the container was dumped in (ckpt's record in config.dump), built again
  // here with host-side names of this container id.
  const dumpedNetwork = source.kind === "ckpt" ? NetworkConfigSchema.safeParse(source.engineConfig?.["network"]).data : undefined;
  // Post-copy: the source container lives on until its last page has moved, so the two
  // must not share a runtime id (nor, on one machine, its cgroups).
  if (lazyFrom !== undefined) record = { ...record, id: newContainerId() };
  // The operator's flags replace the recorded network (a copy under a new name needs its
  // own address). An imported checkpoint that shared its host's network namespace would
  // share this host's: only when the operator says so. A refusal gives back the name this
  // restore claimed.
  try {
    const override = request.network === undefined ? undefined : planNetwork(PRIVATE_NETWORK_SPEC, request.network, record.id);
    if (override === undefined && request.imported !== undefined && dumpedNetwork?.mode === "host") {
      throw new CkptError(ExitCode.refused, `refusing to restore ${label} into this host's network namespace: the container shared the network namespace of the host it was dumped on`, { hint: "say so with --network host, or give it a namespace of its own with --network private (its sockets must then not be bound to the old host's addresses)" });
    }
    record = { ...record, network: networkForId(override ?? dumpedNetwork ?? record.network, record.id) };
    const untrusted = request.imported !== undefined && record.network !== undefined ? importedNetworkProblem(record.network, realPathOrNull) : null;
    if (untrusted !== null) throw new CkptError(ExitCode.refused, `refusing to restore ${label}: ${untrusted}`, { hint: "create that namespace here with ip netns add (and configure it), or restore on a host that has it" });
    if (record.network === undefined) delete record.network;
    await refuseUnhostableNetwork(store, record);
  } catch (error) {
    if (existing === null) await store.remove(name);
    throw error;
  }

  const layout = store.layout;
  const intent = await beginIntent(layout, name, request.imported === undefined ? "restore" : "import", { paths: { checkpoint } });
  let holder: TimeNamespaceHolder | undefined;
  let daemon: LazyPagesDaemon | undefined;
  let networkBuilt = false;
  let rootfsUnpacked = false;
  try {
    let dumpedSpec = await readOciSpec(source.specPath);
    // A bundle's config.json names its root relative to the bundle.
    if (!isAbsolute(dumpedSpec.root.path)) dumpedSpec = { ...dumpedSpec, root: { ...dumpedSpec.root, path: resolve(dirname(source.specPath), dumpedSpec.root.path) } };
    const planned = importedRootfs || source.kind !== "ckpt" ? planImportedSpec(dumpedSpec, importedRootfs ? record.rootfs : dumpedSpec.root.path, join(store.layout.containerDir(name), "mounts"), existsSync) : null;
    if (planned !== null) dumpedSpec = planned.spec;
    // A dump made in a namespace given by path (ckpt's, or the operator's) needs one handed
    // in; without ckpt's record of it (a bare image directory with --bundle), ckpt builds
    // a loopback-only one, or joins the spec's path when it exists here.
    if (record.network === undefined && (await readExternalNetnsKeys(imageDir)).length > 0) record = { ...record, network: networkForExternalDump(dumpedSpec, existsSync, request.imported === undefined) };
    // The spec of a checkpoint that arrived from elsewhere is the sender's: what it asks
    // of this host is refused unless allowed, unless the operator gave the spec (--spec,
    // --bundle) or a key this host trusts signed it.
    const foreignSpec = (request.imported !== undefined && request.trustedSigner === undefined) || source.kind !== "ckpt";
    if (foreignSpec && request.spec === undefined && request.bundle === undefined) {
      // However it is spelled: "/", "//.", or a link to it such as /proc/1/root.
      if (!importedRootfs && (resolve(dumpedSpec.root.path) === "/" || realPathOrNull(dumpedSpec.root.path) === "/")) {
        throw new CkptError(ExitCode.refused, `refusing to restore ${label}: its spec's root filesystem is this host's own root (root.path ${dumpedSpec.root.path})`, { hint: "give the container's spec yourself with --spec FILE" });
      }
      // Only ckpt's own stand-ins: never a path in the root filesystem, where a link the
      // archive (or later the container itself) put there would lead the runtime's bind
      // anywhere on this host.
      const ownRoots = [join(store.layout.containerDir(name), "mounts")];
      const findings = vetImportedSpec(dumpedSpec, {
        ownRoots,
        networkManaged: record.network !== undefined,
        engineConfinesByDefault: source.kind === "podman",
        hostRlimits: readHardLimits(),
        rootfsUnpacked: importedRootfs,
        recordedNetwork: request.network === undefined ? record.network : undefined,
      });
      refuseUnallowedSpec(findings, request.allow ?? [], `refusing to restore ${label}: its spec asks this host for what an imported checkpoint does not get unasked`, "if you trust the sender, allow them with");
    }
    // Vetted: now the root filesystem is unpacked and the engine's files get stand-ins.
    if (importedRootfs) {
      await faultPoint(`${intent.intent.operation}:unpacking`);
      rootfsUnpacked = true;
      await prepareImportedRootfs(checkpoint, imageDir, record.rootfs, request.imported?.rootfsBase);
    }
    if (planned !== null) await createPlaceholders(checkpoint, planned.placeholders);
    if (record.network !== undefined) dumpedSpec = specWithNetwork(dumpedSpec, record.network, layout.networkNamespace(name));
    // Dumped under a runtime that gave the container a time namespace, restored by one
    // that knows none: the runtime is not asked for one (CRIU gives PID 1 its own).
    const runtimeMakesTimeNamespaces = createsTimeNamespace(runtime.adapter, runtimeVersion);
    if (!runtimeMakesTimeNamespaces) dumpedSpec = withoutTimeNamespace(dumpedSpec);
    if (!existsSync(dumpedSpec.root.path)) throw new CkptError(ExitCode.notFound, `the container's root filesystem ${dumpedSpec.root.path} does not exist on this host`, { hint: "restore needs the same root filesystem at the same path, or export with the root filesystem in the archive" });
    await createMountpoints(planMountpoints(dumpedSpec, isDirectoryOrMissing));

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
    const restoreSpec = specForRestore(dumpedSpec, layout.criuConfig(name), viaSpec ? joinPath : null);
    await prepareContainerDir(store, name, restoreSpec);
    // The operator's CRIU configuration: the bundle's, which travels in ckpt's checkpoints
    // (never a file a checkpoint's spec names), and this host's default; with ckpt's options.
    await copyBundleCriuConfig(join(checkpoint, CheckpointFiles.bundleCriuConfig), layout.bundleCriuConfig(name));
    const why = (o: DumpOptionName) => optionsPlan.applied.find((a) => a.option === o)?.detail ?? "ckpt's restore plan";
    const criuConfig = await writeCriuConfig(containerCriuConfig(layout, name, restoreSpec, { adapter: runtime.adapter, version: runtimeVersion }, "restore", ownCriuOptions(optionsPlan.options, why, viaSpec ? null : joinPath)));
    const foreign = foreignCriuConfigWarning(dumpedSpec, source.kind);
    if (foreign !== null) criuConfig.warnings.push(foreign);
    await store.save(record);

    let restoreImages = imageDir;
    if (lazyFrom !== undefined) {
      // The daemon reads the images after this command has ended: they go with the
      // container, not in a staging directory (a lazy dump's images are a few hundred KiB).
      restoreImages = layout.lazyImagesDir(name);
      await rm(restoreImages, { recursive: true, force: true });
      await cp(imageDir, restoreImages, { recursive: true });
      daemon = await startLazyPagesDaemon({ imagesDir: restoreImages, workDir: layout.bundleDir(name), pageServer: lazyFrom });
      await recordLazyPages(layout, name, { daemonPid: daemon.pid, from: formatPageServer(lazyFrom) });
    }

    // Until the restore succeeds, an exit conmon reports is no crash to restart (a pending
    // restart of the old container is called off, too).
    await holdRestarts(layout, record, "restoring");
    // What the bundle's config.json becomes once the container runs, ready beforehand: a
    // restore whose ckpt was killed after CRIU finished is adopted with it (recover.ts).
    await writeFileAtomic(join(layout.bundleDir(name), AFTER_RESTORE_SPEC), `${JSON.stringify(specAfterRestore(specForRestore(dumpedSpec, layout.criuConfig(name), null), t.declared && runtimeMakesTimeNamespaces), null, 2)}\n`);
    await rebuildNetwork(store, record);
    networkBuilt = true;
    const restoring = record;
    const watchdog = request.progressTimeoutMs === undefined ? undefined : watchCriu(() => findRestoringRuntime(restoring.id), [join(layout.bundleDir(name), "restore.log")], request.progressTimeoutMs);
    await intent.advance("restoring");
    const pid = await startMonitor(
      createMonitorArgv({ ...monitorArgs(store, record), restoreFrom: { imageDir: restoreImages, runtimeOptions: restoreOptionArgs({ ...optionsPlan.options, lazyPages: lazyFrom !== undefined }) } }),
      `${runtimeName} restore`,
      criuConfig.env,
    )
      .catch(async (error: unknown) => {
        const stalledFor = watchdog?.stalledFor;
        throw await restoreFailure(store, name, error, stalledFor == null ? undefined : `the restore made no progress for ${(stalledFor / 1000).toFixed(1)} s (CRIU's log and reads stopped), so ckpt ended CRIU`);
      })
      .finally(() => watchdog?.stop());

    await intent.advance("restored");
    await finishRestore(store, record);
    await intent.done();
    const [inode, hostInode, offsetsText] = await Promise.all([readTimeNamespace(pid), readTimeNamespace("self"), readTimensOffsetsText(pid)]);
    const after = await readHostClocks();
    return {
      record: { ...record, checkpointedTo: null },
      pid,
      checkpoint,
      manifest,
      plan,
      options: optionsPlan,
      criuConfig,
      versions,
      timeNamespace: { inode, host: inode === hostInode, offsets: offsetsText === null ? null : parseTimensOffsets(offsetsText) },
      downtimeNs: after.realtimeNs - BigInt(manifest.checkpointedAtNs),
      durationNs: process.hrtime.bigint() - started,
      lazyPages: daemon === undefined || lazyFrom === undefined ? null : { from: formatPageServer(lazyFrom), daemonPid: daemon.pid, logPath: daemon.logPath, daemon },
    };
  } catch (caught) {
    let error = caught;
    // What this restore created and now takes back, in the words the error ends with.
    const removed: string[] = [];
    if (daemon !== undefined) {
      daemon.stop();
      removed.push(`the lazy-pages daemon (PID ${daemon.pid}) was stopped`);
      // The daemon's side of a failed lazy restore: what it got from the page server.
      const daemonLog = await readFile(daemon.logPath, "utf8").catch(() => "");
      if (error instanceof CkptError && daemonLog !== "") error = new CkptError(error.exitCode, error.message, { evidence: [...error.evidence, "lazy-pages daemon:", ...criuEvidence(daemonLog, 6)], ...(error.hint ? { hint: error.hint } : {}) });
    }
    // A CRIU that died mid-way (ended by the watchdog, or crashed) leaves its mounts: the
    // root filesystem bound at the runtime's STATE/ID/criu-root, and CRIU's cgroup yard.
    // Nothing below is ever removed recursively while a mount may remain there: a
    // recursive delete through that bind mount would delete the root filesystem itself.
    const runtimeState = join(runtime.stateRoot, record.id);
    const released = await releaseContainerNetwork(store, record).then(() => true, () => false);
    if (networkBuilt && record.network !== undefined && released) removed.push(`its ${record.network.mode} network (namespace and interfaces) was released`);
    const remaining = await unmountBelow([layout.containerDir(name), runtimeState]).catch(() => ["(unknown)"]);
    if (remaining.length === 0) {
      await rmdir(join(runtimeState, "criu-root")).catch(() => {});
      // Only the id this restore gave the runtime: never another container's (idIsFree).
      // crun leaves a state directory without a status when its restore fails: gone too.
      const known = (await runtime.state(record.id).catch(() => null)) !== null;
      if (known) await runtime.delete(record.id, true).catch(() => {});
      const leftState = existsSync(runtimeState);
      if (leftState) await rm(runtimeState, { recursive: true, force: true }).catch(() => {});
      if (known || leftState) removed.push(`${runtimeName}'s container ${record.id.slice(0, 12)} was deleted`);
    }
    if (existing !== null) {
      await store.save(existing).then(() => writeFile(layout.criuConfig(name), "")).catch(() => {});
      removed.push(`the stopped container "${name}" it was restoring over is kept as it was`);
    } else if (remaining.length === 0) {
      await store.remove(name);
      removed.push(`the container "${name}" (record${rootfsUnpacked ? ", root filesystem unpacked from the archive" : ""}) was removed`);
    }
    await intent.done();
    if (error instanceof CkptError) {
      const nothing = removed.length === 0 ? ["nothing had been created yet: nothing was removed"] : removed.map((r) => `cleanup: ${r}`);
      const left = remaining.map((m) => `still mounted after the failed restore: ${m}`);
      throw new CkptError(error.exitCode, error.message, {
        evidence: [...error.evidence, ...nothing, ...left],
        ...(remaining.length > 0 ? { hint: `unmount them (umount -l) before removing or restoring "${name}" again` } : error.hint ? { hint: error.hint } : {}),
      });
    }
    throw error;
  } finally {
    await holder?.release();
  }
}

// The bundle's config.json as it is once the container runs (no join-ns, no namespace path
// that goes away), written before CRIU starts and put in place after.
export const AFTER_RESTORE_SPEC = "config.after-restore.json";

// The bookkeeping once the restored container runs: its network's host end up, CRIU's
// configuration emptied (the next dump must not see join-ns, nor the next restore a path
// to a namespace that is gone), the spec it restarts from, its record. Also what
// recovery does to adopt a restore whose ckpt was killed after CRIU finished.
export async function finishRestore(store: ContainerStore, record: ContainerRecord): Promise<void> {
  const layout = store.layout;
  await raiseNetwork(store, record);
  await writeFile(layout.criuConfig(record.name), "");
  await rename(join(layout.bundleDir(record.name), AFTER_RESTORE_SPEC), join(layout.bundleDir(record.name), "config.json")).catch((e: NodeJS.ErrnoException) => (e.code === "ENOENT" ? undefined : Promise.reject(e)));
  await store.save({ ...record, checkpointedTo: null });
  await beginRun(layout, record.name, Date.now());
}

// A restore error with CRIU's evidence; its log is kept next to the container record, or
// in the checkpoint's parent when the container record goes away.
async function restoreFailure(store: ContainerStore, name: string, error: unknown, why?: string): Promise<unknown> {
  const logPath = join(store.layout.bundleDir(name), "restore.log");
  const log = await readFile(logPath, "utf8").catch(() => null);
  if (log === null || !(error instanceof CkptError)) {
    // Ended by the watchdog before CRIU wrote its log: the timeout is the reason.
    if (why === undefined) return error;
    return new CkptError(ExitCode.criuFailed, `${why}: could not restore "${name}"; the checkpoint is untouched and nothing was left running`, { evidence: [error instanceof Error ? error.message : String(error)] });
  }
  const kept = join(store.layout.root, `restore-failed-${name}-${Date.now()}.log`);
  await rename(logPath, kept).catch(() => {});
  return new CkptError(ExitCode.criuFailed, `${why === undefined ? "CRIU could not restore" : `${why}: could not restore`} "${name}"; the checkpoint is untouched and nothing was left running`, {
    evidence: [...criuEvidence(log), ...error.evidence.slice(-2)],
    hint: `the full log is kept in ${kept}`,
  });
}

// The runtime binary the container `name` of this store was created with, when it is of
// kind `kind` and still there: a restore uses the same binary unless told otherwise.
async function recordedRuntime(store: ContainerStore, name: string, kind: RuntimeName): Promise<RuntimeChoice | undefined> {
  const record = await store.find(name);
  return record !== null && record.runtime === kind && existsSync(record.runtimePath) ? { name: kind, path: record.runtimePath } : undefined;
}

function realPathOrNull(path: string): string | null {
  try {
    return realpathSync(path);
  } catch {
    return null;
  }
}

// Whether `id` is a container id (64 hex digits) that neither the runtime nor another
// record of this store uses.
async function idIsFree(store: ContainerStore, runtime: RuntimeCli, id: string): Promise<boolean> {
  if (!/^[0-9a-f]{64}$/.test(id)) return false;
  if ((await runtime.state(id)) !== null) return false;
  return !(await store.list()).some((r) => r.id === id);
}
