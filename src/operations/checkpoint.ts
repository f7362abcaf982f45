// `ckpt checkpoint`: pre-flight, dump through the runtime, record the manifest. The
// container keeps running when anything before the dump refuses or the dump fails.
import { cp, mkdir, readFile, readdir, rename, rm, stat, writeFile } from "node:fs/promises";
import { hostname, release } from "node:os";
import { basename, dirname, join } from "node:path";
import { readBootId, readHostClocks } from "../clock/host-clocks.ts";
import { parseTimensOffsets } from "../clock/timespec.ts";
import { liveState, thawIfPaused, type ContainerContext } from "../container/context.ts";
import { holdRestarts, releaseHold } from "../restart/restart-state.ts";
import { readDumpStats, readTimensImage } from "../criu/images.ts";
import { criuEvidence } from "../criu/version.ts";
import { installedCriuVersion } from "../criu/installed.ts";
import { probeInetSockets } from "../criu/inet-probe.ts";
import { findExecutable } from "../host/find-executable.ts";
import { realpathSync } from "node:fs";
import { CkptError, ExitCode } from "../errors.ts";
import { declaresTimeNamespace, readOciSpec, type OciSpec } from "../oci/spec.ts";
import { readContainerTasks } from "../proc/container-tasks.ts";
import { readTimeNamespace, readTimensOffsetsText } from "../proc/process.ts";
import { checkpointPreflight, type ContainerTask } from "../checkpoint/preflight.ts";
import { planCheckpoint, type CheckpointFacts, type CheckpointPlan } from "../checkpoint/checkpoint-plan.ts";
import { writeManifest, type Manifest } from "../checkpoint/manifest.ts";
import { checkpointStamp } from "../checkpoint/checkpoint-store.ts";
import { CheckpointFiles } from "../checkpoint/checkpoint-dir.ts";
import { writeFileAtomic } from "../store/atomic-write.ts";
import { watchCriu, type CriuWatchdog } from "../criu/criu-watchdog.ts";
import type { LazyCheckpoint } from "../runtimes/runtime-cli.ts";
import { oneClockKeeper } from "../runtimes/runtime.ts";
import { beginIntent, faultPoint, type IntentHandle } from "./intent.ts";
import type { StoreLayout } from "../store/layout.ts";
import type { ContainerRecord } from "../store/container-record.ts";
import { lowerNetwork, releaseContainerNetwork } from "../network/container-network.ts";
import { describeConnection, describeSocket, readInetSockets, readTcpConnections } from "../proc/tcp-connections.ts";
import { containerCriuConfig, copyBundleCriuConfig, ownCriuOptions, writeCriuConfig, type WrittenCriuConfig } from "../criu/operator-config.ts";
import { criuOptionName } from "../criu/dump-options.ts";
import { readDumpedOptionsEvidence } from "../criu/dumped-options.ts";
import { checkDumpRequest, unpassableOptions } from "../restore/restore-options.ts";

export interface CheckpointRequest {
  leaveRunning: boolean;
  tcpEstablished: boolean;
  fileLocks: boolean;
  keep: boolean;
  allowProcessLoss: boolean;
  // Drop established TCP connections instead of dumping them (podman's --tcp-close): the
  // restore brings them back closed.
  tcpClose?: boolean;
  // Where the checkpoint directory goes; the store's checkpoints of the container by default.
  parentDir?: string;
  // When parentDir is temporary (an export's staging): where a failed dump's log is kept.
  keepFailedLogIn?: string;
  // Called with CRIU's image directory just before the dump starts (an export hashes the
  // memory pages while CRIU writes them).
  onDumpStart?: (imageDir: string) => void;
  // End a dump whose log and images have not grown for this long (ms).
  progressTimeoutMs?: number;
  // Post-copy: dump all but the memory, then serve the pages at this ADDR:PORT. The
  // container stays (frozen) until the restore has taken every page; CRIU resumes it if
  // the transfer fails.
  lazyPages?: { pageServer: string };
  // The operation this dump is part of (an export's, a migration's): its intent record
  // follows the dump's phases. Without one, the checkpoint writes its own.
  intent?: IntentHandle;
}

export interface CheckpointResult {
  name: string;
  dir: string;
  manifest: Manifest;
  lostTasks: ContainerTask[];
  durationNs: bigint;
  // For a lazy dump: the runtime and CRIU, serving the pages.
  pageServer?: LazyCheckpoint;
  // The CRIU configuration the dump ran with, and what the command should say about it.
  criuConfig: WrittenCriuConfig;
}

export async function checkpointContainer(ctx: ContainerContext, request: CheckpointRequest): Promise<CheckpointResult> {
  const started = process.hrtime.bigint();
  const { record, runtime, store } = ctx;
  // The facts, then the plan (checkpoint/checkpoint-plan.ts): nothing is frozen, and
  // nothing but CRIU's configuration file for this dump is written, before it says go.
  const live = await liveState(ctx);
  const requested = { tcpEstablished: request.tcpEstablished, fileLocks: request.fileLocks, tcpClose: request.tcpClose === true };
  const runtimeVersion = await runtime.version();
  const base = { name: record.name, runtime: `${record.runtime} ${runtimeVersion}`, status: live.pid === null && live.status === "running" ? ("unknown" as const) : live.status, contradiction: checkDumpRequest(requested) };
  if (base.status !== "running" || live.pid === null) {
    throw refusal(planCheckpoint({ ...base, verdict: { ok: true, refusals: [], willBeLost: [] }, effective: requested, unpassable: [], connections: [] }));
  }
  const pid1 = live.pid;
  const tasks = await readContainerTasks(pid1);
  const verdict = checkpointPreflight(pid1, tasks, { allowProcessLoss: request.allowProcessLoss });
  const spec = await readOciSpec(join(store.layout.bundleDir(record.name), "config.json"));
  // The dump's CRIU options: the flags, merged with the operator's CRIU configuration
  // into the file the runtime names (what is in effect is recorded in the manifest).
  const criuConfig = verdict.ok && base.contradiction === null ? await writeCriuConfig(containerCriuConfig(store.layout, record.name, spec, { adapter: runtime.adapter, version: runtimeVersion }, "dump", ownCriuOptions(requested, (o) => `checkpoint --${criuOptionName[o]}`))) : null;
  const effective = criuConfig?.effective ?? requested;
  const connections = !effective.tcpEstablished && !effective.tcpClose ? (await readTcpConnections(pid1, tasks)).map(describeConnection) : [];
  const plan = planCheckpoint({ ...base, verdict, effective, unpassable: criuConfig === null ? [] : unpassableOptions(effective, criuConfig.report.readByRuntime), connections, inetBlocked: await inetBlocked(pid1, tasks) });
  if (plan.kind === "refused" || criuConfig === null) throw refusal(plan);

  const [bootId, pid1Inode, hostInode, offsetsText, criuVersion] = await Promise.all([
    readBootId(),
    readTimeNamespace(pid1).catch(() => 0),
    readTimeNamespace("self").catch(() => 0),
    readTimensOffsetsText(pid1),
    installedCriuVersion(),
  ]);
  const pid1Offsets = offsetsText === null ? { monotonicNs: 0n, boottimeNs: 0n } : parseTimensOffsets(offsetsText);
  const clocksBefore = await readHostClocks();

  const stamp = checkpointStamp(clocksBefore.realtimeNs);
  const baseDir = request.parentDir ?? store.layout.containerCheckpointsDir(record.name);
  const finalDir = join(baseDir, stamp);
  const partialDir = `${finalDir}.partial`;
  const imageDir = join(partialDir, CheckpointFiles.images);
  // A lazy dump's CRIU goes on logging while the checkpoint is archived: its work
  // directory stays outside what is archived.
  const workDir = request.lazyPages ? `${finalDir}.work` : join(partialDir, "work");
  // Everything the manifest needs that only this moment knows: with it, a dump CRIU
  // finished after ckpt was killed is recorded as a checkpoint (operations/recover.ts).
  const lost = new Set(verdict.willBeLost.map((t) => t.pid));
  const draft: ManifestDraft = {
    container: { name: record.name, id: record.id, sourceBundle: record.sourceBundle ?? "", rootfs: record.rootfs },
    runtime: { name: record.runtime, version: runtimeVersion, path: runtime.path },
    criuVersion,
    kernelRelease: release(),
    hostname: hostname(),
    bootId,
    timeNamespace: {
      kernelSupport: offsetsText !== null,
      declared: declaresTimeNamespace(spec),
      declaredOffsets: declaredOffsets(spec),
      pid1Inode,
      pid1Offsets: { monotonicNs: String(pid1Offsets.monotonicNs), boottimeNs: String(pid1Offsets.boottimeNs) },
      pid1InHostNamespace: pid1Inode === hostInode,
      execJoinedBy: oneClockKeeper(runtime.adapter, runtimeVersion),
    },
    clocksBefore: { realtimeNs: String(clocksBefore.realtimeNs), monotonicNs: String(clocksBefore.monotonicNs) },
    options: { leaveRunning: request.leaveRunning, tcpEstablished: effective.tcpEstablished, fileLocks: effective.fileLocks, tcpClose: effective.tcpClose },
    tasks: tasks.filter((t) => !lost.has(t.pid)).map((t) => ({ pid: t.pid, ppid: t.ppid, command: t.command, timeNamespaceInode: Number(t.timeNamespace) })),
    lazyPagesFrom: request.lazyPages?.pageServer ?? "",
  };
  const paths = { partialDir, finalDir, workDir };
  const intent = request.intent ?? (await beginIntent(store.layout, record.name, "checkpoint", { paths, leaveRunning: request.leaveRunning }));
  await intent.advance("prepared", { paths, manifestDraft: draft as unknown as Record<string, unknown> });
  await mkdir(imageDir, { recursive: true, mode: 0o700 });
  await mkdir(workDir, { recursive: true, mode: 0o700 });

  // The dump ends the container (unless it is left running): its restart policy must not
  // start it again.
  if (!request.leaveRunning && request.lazyPages === undefined) await holdRestarts(store.layout, record, "checkpointed");
  request.onDumpStart?.(imageDir);
  let watchdog: CriuWatchdog | undefined;
  const watch = (pid: number) => {
    if (request.progressTimeoutMs !== undefined) watchdog = watchCriu(pid, [join(workDir, "dump.log"), imageDir], request.progressTimeoutMs);
  };
  const args = { id: record.id, imageDir, workDir, leaveRunning: request.leaveRunning, tcpEstablished: effective.tcpEstablished, fileLocks: effective.fileLocks };
  let pageServer: LazyCheckpoint | undefined;
  let dumped: { exitCode: number; stderr: string };
  await intent.advance("dumping");
  if (request.lazyPages) {
    pageServer = runtime.checkpointLazily(args, request.lazyPages.pageServer);
    watch(pageServer.pid);
    dumped = (await pageServer.ready) ? { exitCode: 0, stderr: "" } : await pageServer.done;
    if (dumped.exitCode === 0 && !(await pageServer.ready)) dumped = { exitCode: 1, stderr: "CRIU exited without serving the pages" };
    // The target takes over the container's address; the frozen source must not answer.
    if (dumped.exitCode === 0) await lowerNetwork(record);
  } else {
    dumped = await runtime.checkpoint(args, watch, criuConfig.env);
  }
  watchdog?.stop();
  if (watchdog?.stalledFor != null || dumped.exitCode !== 0) {
    // A failure handled here: the container runs on (failedDump makes sure), nothing to recover.
    if (request.intent === undefined) await intent.done();
  }
  if (watchdog?.stalledFor != null) {
    await failedDump(ctx, { partialDir, finalDir, workDir, keepLogIn: request.keepFailedLogIn }, dumped.stderr, `the dump made no progress for ${(watchdog.stalledFor / 1000).toFixed(1)} s (CRIU's log and images stopped growing), so ckpt ended CRIU`);
  }
  if (dumped.exitCode !== 0) {
    await failedDump(ctx, { partialDir, finalDir, workDir, keepLogIn: request.keepFailedLogIn }, dumped.stderr);
  }

  await intent.advance("dumped");
  // A lazy dump's container stays until its pages are gone; the caller finishes it.
  if (!request.leaveRunning && pageServer === undefined) await containerEndedByDump(ctx, partialDir);
  try {
    const manifest = await recordCheckpoint(store.layout, record, draft, { partialDir, finalDir, workDir }, { keep: request.keep, lazy: pageServer !== undefined });
    await faultPoint(`${intent.intent.operation}:recorded`);
    if (!request.leaveRunning && pageServer === undefined) await store.save({ ...record, checkpointedTo: finalDir });
    if (request.intent === undefined) await intent.done();
    return { name: record.name, dir: finalDir, manifest, lostTasks: verdict.willBeLost, durationNs: process.hrtime.bigint() - started, criuConfig, ...(pageServer ? { pageServer } : {}) };
  } catch (error) {
    await pageServer?.stop();
    throw new CkptError(ExitCode.badCheckpoint, `CRIU dumped "${record.name}" but ckpt could not record the checkpoint: ${(error as Error).message}`, {
      hint: `the images are kept in ${partialDir}`,
      cause: error,
    });
  }
}

// The container is gone from the host once its dump ended it: whatever happens next, its
// record points at the images, and the runtime's record of it would block a restore under
// its id; its network goes with it (a restore, here or elsewhere, builds it again).
export async function containerEndedByDump(ctx: ContainerContext, imagesAt: string): Promise<void> {
  await ctx.store.save({ ...ctx.record, checkpointedTo: imagesAt });
  await ctx.runtime.delete(ctx.record.id, true).catch(() => {});
  await releaseContainerNetwork(ctx.store, ctx.record).catch(() => {});
}

// What the manifest needs that only the moment before the dump knows (JSON-safe: it
// travels in the intent record).
export interface ManifestDraft {
  container: Manifest["container"];
  runtime: Manifest["runtime"];
  criuVersion: string;
  kernelRelease: string;
  hostname: string;
  bootId: string;
  // execJoinedBy: absent from intent records written before ckpt recorded it.
  timeNamespace: Omit<Manifest["timeNamespace"], "dumpedMonotonicNs" | "dumpedBoottimeNs" | "host" | "execJoinedBy"> & Partial<Pick<Manifest["timeNamespace"], "execJoinedBy">>;
  clocksBefore: { realtimeNs: string; monotonicNs: string };
  options: Manifest["options"];
  tasks: Manifest["tasks"];
  lazyPagesFrom: string;
}

// Whether CRIU finished the dump in `partialDir`: its log says so, or (its log moved) the
// images and statistics are all there.
export async function dumpCompleted(dirs: { partialDir: string; workDir: string }): Promise<boolean> {
  const log = (await readFile(join(dirs.workDir, "dump.log"), "utf8").catch(() => null)) ?? (await readFile(join(dirs.partialDir, CheckpointFiles.dumpLog), "utf8").catch(() => ""));
  if (/Dumping finished successfully/.test(log)) return true;
  return false;
}

// Turns a finished dump in STAMP.partial into the checkpoint STAMP: the manifest (from the
// draft and the images), the spec, ckpt's record, the bundle's CRIU configuration; then
// the rename that makes it visible. The same steps after a kill (operations/recover.ts).
export async function recordCheckpoint(layout: StoreLayout, record: ContainerRecord, draft: ManifestDraft, dirs: { partialDir: string; finalDir: string; workDir: string }, options: { keep: boolean; lazy: boolean }): Promise<Manifest> {
  const { partialDir, finalDir, workDir } = dirs;
  const imageDir = join(partialDir, CheckpointFiles.images);
  const timens = await readTimensImage(imageDir);
  if (timens === null) throw new CkptError(ExitCode.criuFailed, "CRIU wrote no timens image: this CRIU is too old for ckpt", { hint: "run scripts/setup-host.sh to build CRIU >= 4.2" });
  // The host's clocks at the instant CRIU read the container's: the container's clock
  // minus PID 1's offset, and realtime moved by the same amount as monotonic since the
  // reading before the dump.
  const hostMonotonicAtDump = timens.monotonicNs - BigInt(draft.timeNamespace.pid1Offsets.monotonicNs);
  const sinceReading = hostMonotonicAtDump - BigInt(draft.clocksBefore.monotonicNs);
  const host = {
    realtimeNs: String(BigInt(draft.clocksBefore.realtimeNs) + sinceReading),
    monotonicNs: String(hostMonotonicAtDump),
    boottimeNs: String(timens.boottimeNs - BigInt(draft.timeNamespace.pid1Offsets.boottimeNs)),
  };
  // CRIU writes its statistics to the work directory.
  const stats = (await readDumpStats(workDir)) ?? (await readDumpStats(imageDir)) ?? (await readDumpStats(partialDir).catch(() => null)) ?? { freezingTimeUs: 0, frozenTimeUs: 0, memdumpTimeUs: 0, memwriteTimeUs: 0, pagesScanned: 0, pagesWritten: 0 };
  // What the images hold counts too (a default CRIU configuration ckpt does not merge,
  // such as /etc/criu/default.conf, may have added an option).
  const evidence = await readDumpedOptionsEvidence(imageDir);
  const manifest: Manifest = {
    formatVersion: 1,
    container: draft.container,
    runtime: draft.runtime,
    criuVersion: draft.criuVersion,
    kernelRelease: draft.kernelRelease,
    hostname: draft.hostname,
    bootId: draft.bootId,
    checkpointedAtNs: host.realtimeNs,
    timeNamespace: { execJoinedBy: "", ...draft.timeNamespace, dumpedMonotonicNs: String(timens.monotonicNs), dumpedBoottimeNs: String(timens.boottimeNs), host },
    criuStats: stats,
    options: {
      leaveRunning: draft.options.leaveRunning,
      tcpEstablished: draft.options.tcpEstablished || evidence.establishedTcp > 0,
      fileLocks: draft.options.fileLocks || evidence.fileLocks > 0,
      tcpClose: draft.options.tcpClose || evidence.tcpClose,
    },
    tasks: draft.tasks,
    imagesBytes: await directoryBytes(imageDir),
    files: [],
    rootfsInArchive: "",
    lazyPagesFrom: draft.lazyPagesFrom,
  };
  await cp(join(layout.bundleDir(record.name), "config.json"), join(partialDir, CheckpointFiles.spec));
  await writeFileAtomic(join(partialDir, CheckpointFiles.config), `${JSON.stringify(record, null, 2)}\n`);
  await copyBundleCriuConfig(layout.bundleCriuConfig(record.name), join(partialDir, CheckpointFiles.bundleCriuConfig));
  await writeManifest(partialDir, manifest);
  // A lazy dump's CRIU goes on logging in its work directory while pages are served.
  if (!options.lazy) {
    await rename(join(workDir, "dump.log"), join(partialDir, CheckpointFiles.dumpLog)).catch(() => {});
    await rename(join(workDir, "stats-dump"), join(partialDir, CheckpointFiles.stats)).catch(() => {});
    if (!options.keep) await rm(workDir, { recursive: true, force: true });
  }
  await rename(partialDir, finalDir);
  return manifest;
}

// The plan's refusal as the error the command reports.
function refusal(plan: CheckpointPlan): CkptError {
  if (plan.kind !== "refused") return new CkptError(ExitCode.internal, "the checkpoint plan went ahead without its CRIU configuration");
  return new CkptError(plan.exitCode, plan.message, { evidence: plan.evidence, ...(plan.hint === undefined ? {} : { hint: plan.hint }) });
}

// Keeps the log, removes the images, makes sure the container still runs, and throws.
async function failedDump(ctx: ContainerContext, dirs: { partialDir: string; finalDir: string; workDir: string; keepLogIn: string | undefined }, stderr: string, why?: string): Promise<never> {
  const { partialDir, finalDir, workDir, keepLogIn } = dirs;
  const failedDir = `${finalDir}.failed`;
  const log = await readFile(join(workDir, "dump.log"), "utf8").catch(() => "");
  await rm(join(partialDir, CheckpointFiles.images), { recursive: true, force: true });
  await rename(partialDir, failedDir).catch(() => {});
  const inside = workDir.startsWith(`${partialDir}/`);
  let logPath = inside ? join(failedDir, "work", "dump.log") : join(workDir, "dump.log");
  if (keepLogIn !== undefined) {
    // The staging directory goes when the command ends; the log the hint names must not.
    const kept = join(keepLogIn, basename(failedDir), CheckpointFiles.dumpLog);
    await mkdir(dirname(kept), { recursive: true, mode: 0o700 });
    await writeFile(kept, log, { mode: 0o600 });
    logPath = kept;
  }
  const after = await thawIfPaused(ctx);
  await releaseHold(ctx.store.layout, ctx.record.name);
  const state = after.status === "paused" ? "running (ckpt thawed it)" : after.status;
  throw new CkptError(ExitCode.criuFailed, `${why === undefined ? "CRIU could not checkpoint" : `${why}: no checkpoint of`} "${ctx.record.name}"; the container is ${state}`, {
    evidence: [...criuEvidence(log), ...stderr.trim().split("\n").filter((l) => l !== "").slice(-2)],
    hint: `the full log is kept in ${logPath}`,
  });
}

// What a CRIU that cannot dump inet sockets here (the per-boot probe, criu/inet-probe.ts)
// would fail on; undefined when the CRIU can, or nobody knows.
async function inetBlocked(pid1: number, tasks: readonly { pid: number; command: string }[]): Promise<CheckpointFacts["inetBlocked"]> {
  const criu = findExecutable("criu");
  const probe = criu === null ? null : await probeInetSockets(criu);
  if (criu === null || probe === null || probe.ok) return undefined;
  return { criu: `criu ${await installedCriuVersion()} at ${realpathSync(criu)}`, reason: probe.errorLines[0] ?? "its dump of a TCP listener failed", sockets: (await readInetSockets(pid1, tasks)).map(describeSocket) };
}

function declaredOffsets(spec: OciSpec): { monotonicNs: string; boottimeNs: string } {
  const ns = (clock: string) => {
    const o = spec.linux?.timeOffsets?.[clock];
    return String(BigInt(o?.secs ?? 0) * 1_000_000_000n + BigInt(o?.nanosecs ?? 0));
  };
  return { monotonicNs: ns("monotonic"), boottimeNs: ns("boottime") };
}


async function directoryBytes(dir: string): Promise<number> {
  const names = await readdir(dir);
  const sizes = await Promise.all(names.map(async (n) => (await stat(join(dir, n))).size));
  return sizes.reduce((a, b) => a + b, 0);
}
