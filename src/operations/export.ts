// `ckpt checkpoint --export`: checkpoint into a staging directory (tmpfs when memory
// allows), stream it out as an archive, and only then let the container go. The archive
// is written 0600 to a temporary name and renamed when complete. If anything fails after
// the dump, the container is restored from the staged images, so it keeps running.
import { raiseNetwork } from "../network/container-network.ts";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { cp, open, rename, rm, stat } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { isatty } from "node:tty";
import * as tar from "tar";
import { checkpointContainer, type CheckpointRequest, type CheckpointResult } from "./checkpoint.ts";
import { CheckpointFiles } from "../checkpoint/checkpoint-dir.ts";
import { liveState, thawIfPaused, type ContainerContext } from "../container/context.ts";
import { CkptError, ExitCode } from "../errors.ts";
import { readContainerTasks } from "../proc/container-tasks.ts";
import { residentBytes } from "../proc/process.ts";
import { beginIntent, faultPoint, type IntentHandle } from "./intent.ts";
import { restoreContainer } from "./restore.ts";
import type { LazyCheckpoint } from "../runtimes/runtime-cli.ts";
import type { Compression } from "../archive/compression.ts";
import type { ProgressListener } from "../archive/progress.ts";
import { GrowingFileHasher } from "../archive/growing-file-hasher.ts";
import { createStagingDir } from "../archive/staging.ts";
import { writeArchive } from "../archive/write-archive.ts";
import type { SigningKey } from "../signing/signature.ts";

export interface ExportRequest extends CheckpointRequest {
  // A file path, "-" for standard output, or an open descriptor (a migration's pipe).
  destination: string | { fd: number; label: string };
  // Keep the staged checkpoint after a successful export until the caller releases it
  // (a migration restores from it if the target fails).
  retainStaging?: boolean;
  compression: Compression;
  // Leave the root filesystem out (the target has it at the same path).
  ignoreRootfs: boolean;
  onProgress?: ProgressListener;
  // Signs the archive's manifest (signing/): absent, the archive goes unsigned.
  signer?: SigningKey | undefined;
}

export interface ExportResult {
  checkpoint: CheckpointResult;
  destination: string;
  compression: Compression;
  archiveBytes: number | null;
  tarBytes: number;
  files: number;
  staging: "tmpfs" | "disk";
  // The key that signed the manifest, or null.
  signedBy: { name: string; fingerprint: string } | null;
  durationNs: bigint;
  // Where the time went: the dump (with ckpt's pre-flight and manifest), writing the
  // archive, and making it durable (fsync and rename).
  phasesNs: { checkpoint: bigint; archive: bigint; commit: bigint };
  // With retainStaging: the staged checkpoint, and how to remove it.
  staged: { dir: string; release(): Promise<void> } | null;
}

interface Destination {
  path: string;
  fd: number;
  // The temporary file the archive is written to before its rename (a file destination).
  temporary?: string;
  // Starts flushing what is written so far to disk, every quarter second, so that the
  // final fsync has little left to do; returns the function that stops it.
  flushAlongTheWay(): () => Promise<void>;
  commit(): Promise<number | null>;
  abort(): Promise<void>;
}

// Opens where the archive goes before anything is dumped, so a bad path costs nothing.
async function openDestination(destination: ExportRequest["destination"]): Promise<Destination> {
  if (typeof destination === "object") {
    return { path: destination.label, fd: destination.fd, flushAlongTheWay: () => async () => {}, commit: async () => null, abort: async () => {} };
  }
  if (destination === "-") {
    // Not process.stdout: creating that stream would make the pipe non-blocking, and the
    // compressor that inherits it would fail with EAGAIN.
    if (isatty(1)) {
      throw new CkptError(ExitCode.usage, "refusing to write a checkpoint archive to a terminal", { hint: "redirect it (--export - > FILE) or pipe it (--export - | ssh HOST ckpt restore --import -)" });
    }
    return { path: "-", fd: 1, flushAlongTheWay: () => async () => {}, commit: async () => null, abort: async () => {} };
  }
  const path = resolve(destination);
  const dir = dirname(path);
  if (!existsSync(dir)) throw new CkptError(ExitCode.notFound, `cannot write ${path}: the directory ${dir} does not exist`, { hint: "create it first, or export elsewhere" });
  if (existsSync(path) && (await stat(path)).isDirectory()) throw new CkptError(ExitCode.usage, `${path} is a directory`, { hint: "give a file name, e.g. NAME.tar.zst" });
  const temporary = join(dir, `.${basename(path)}.${randomBytes(4).toString("hex")}.partial`);
  const handle = await open(temporary, "wx", 0o600).catch((error: Error) => {
    throw new CkptError(ExitCode.usage, `cannot write in ${dir}: ${error.message}`);
  });
  return {
    path,
    fd: handle.fd,
    temporary,
    flushAlongTheWay() {
      let running = true;
      let current: Promise<void> = Promise.resolve();
      const loop = async () => {
        while (running) {
          current = handle.datasync().catch(() => {});
          await current;
          await sleep(250);
        }
      };
      void loop();
      return async () => {
        running = false;
        await current;
      };
    },
    async commit() {
      await handle.sync();
      await handle.close();
      await rename(temporary, path);
      return (await stat(path)).size;
    },
    async abort() {
      await handle.close().catch(() => {});
      await rm(temporary, { force: true });
    },
  };
}

export async function exportCheckpoint(ctx: ContainerContext, request: ExportRequest): Promise<ExportResult> {
  const started = process.hrtime.bigint();
  const live = await liveState(ctx);
  // The pre-flight and the running check come again inside checkpointContainer; asking
  // early keeps a refused export from creating anything.
  const tasks = live.pid === null ? [] : await readContainerTasks(live.pid).catch(() => []);
  const expected = (await Promise.all(tasks.map((t) => residentBytes(t.pid)))).reduce((a, b) => a + b, 0);
  const out = await openDestination(request.destination);
  let staging: { dir: string; where: "tmpfs" | "disk" } | undefined;
  // The operation's intent record: a migration's own, or this export's.
  let intent: IntentHandle | undefined = request.intent;
  try {
    staging = await createStagingDir(ctx.store.layout.root, "export", live.pid === null ? null : expected);
    const paths = { stagingDir: staging.dir, destination: out.path, ...(out.temporary === undefined ? {} : { destinationTemp: out.temporary }) };
    if (intent === undefined) intent = await beginIntent(ctx.store.layout, ctx.record.name, "export", { paths, leaveRunning: request.leaveRunning });
    else await intent.advance("prepared", { paths });
    let pages: GrowingFileHasher | undefined;
    const checkpoint = await checkpointContainer(ctx, {
      ...request,
      intent,
      keep: false,
      parentDir: staging.dir,
      keepFailedLogIn: ctx.store.layout.containerCheckpointsDir(ctx.record.name),
      // A lazy dump writes only the pages CRIU cannot serve later: a few KiB.
      ...(request.lazyPages
        ? {}
        : {
            onDumpStart: (imageDir: string) => {
              pages = new GrowingFileHasher(imageDir, /^pages-\d+\.img$/);
              // Measured on a 1 GiB container: hashing during the dump did not lengthen
              // the freeze (650-850 ms either way) and took a second off the export.
              pages.start();
            },
          }),
    }).catch(async (error: unknown) => {
      await pages?.abandon();
      throw error;
    });
    const dumpedAt = process.hrtime.bigint();
    try {
      // The pages' digests are finished while the archive is written.
      const precomputed = pages?.finish().then((digests) => new Map(digests.map((d) => [`${CheckpointFiles.images}/${d.name}`, { size: d.size, sha256: d.sha256 }])));
      precomputed?.catch(() => {});
      // Synchronous: node-tar then packs a busybox root filesystem in 30 ms instead of 85 ms
      // (it is part of the downtime); the pages are hashed in a worker meanwhile.
      if (!request.ignoreRootfs) tar.c({ cwd: ctx.record.rootfs, file: join(checkpoint.dir, CheckpointFiles.rootfsDiff), sync: true }, ["."]);
      const manifest = { ...checkpoint.manifest, rootfsInArchive: request.ignoreRootfs ? ("none" as const) : ("full" as const) };
      // Recorded before the last byte goes out: a restore at the other end of a pipe on
      // this same store may take the record over as soon as the archive is complete.
      if (!request.leaveRunning && checkpoint.pageServer === undefined) await ctx.store.save({ ...ctx.record, checkpointedTo: out.path });
      await intent.advance("archiving");
      const stopFlushing = out.flushAlongTheWay();
      const written = await writeArchive(checkpoint.dir, manifest, out.fd, request.compression, { ...(precomputed === undefined ? {} : { precomputed }), ...(request.onProgress === undefined ? {} : { onProgress: request.onProgress }), ...(request.signer === undefined ? {} : { signer: request.signer }) }).finally(stopFlushing);
      const archivedAt = process.hrtime.bigint();
      const archiveBytes = await out.commit();
      const committedAt = process.hrtime.bigint();
      if (request.keep) await keepInStore(ctx, checkpoint);
      await faultPoint("export:committed");
      if (request.intent === undefined) await intent.done();
      const result: ExportResult = { checkpoint, destination: out.path, compression: request.compression, archiveBytes, tarBytes: written.tarBytes, files: written.files.length, staging: staging.where, signedBy: request.signer === undefined ? null : { name: request.signer.name, fingerprint: request.signer.fingerprint }, durationNs: process.hrtime.bigint() - started, phasesNs: { checkpoint: dumpedAt - started, archive: archivedAt - dumpedAt, commit: committedAt - archivedAt }, staged: null };
      if (request.retainStaging === true) {
        const kept = staging;
        staging = undefined;
        result.staged = { dir: checkpoint.dir, release: () => rm(kept.dir, { recursive: true, force: true }) };
      }
      return result;
    } catch (error) {
      if (checkpoint.pageServer !== undefined) throw await abandonLazyDump(ctx, checkpoint.pageServer, error);
      if (request.leaveRunning) throw error;
      throw await bringBack(ctx, checkpoint, error);
    }
  } catch (error) {
    await out.abort();
    // Handled: the container runs (or its checkpoint is kept in the store, as said).
    if (request.intent === undefined) await intent?.done();
    throw error;
  } finally {
    if (staging !== undefined) await rm(staging.dir, { recursive: true, force: true });
  }
}

// The archive could not be written after the container was dumped: restore it from the
// staged images, and report both.
async function bringBack(ctx: ContainerContext, checkpoint: CheckpointResult, error: unknown): Promise<CkptError> {
  const why = error instanceof Error ? error.message : String(error);
  try {
    await restoreContainer(ctx.store, { source: checkpoint.dir, newName: undefined, runtime: { name: ctx.record.runtime, path: ctx.record.runtimePath }, timeMode: "auto", options: {} });
  } catch (restoreError) {
    const kept = join(ctx.store.layout.containerCheckpointsDir(ctx.record.name), basename(checkpoint.dir));
    await cp(checkpoint.dir, kept, { recursive: true }).catch(() => {});
    return new CkptError(ExitCode.criuFailed, `the archive could not be written (${why}), and restoring "${ctx.record.name}" from its images failed too`, {
      evidence: restoreError instanceof CkptError ? [restoreError.message, ...restoreError.evidence] : [String(restoreError)],
      hint: `its checkpoint is kept in ${kept}: ckpt restore ${ctx.record.name}`,
    });
  }
  return new CkptError(error instanceof CkptError ? error.exitCode : ExitCode.transferFailed, `the archive could not be written: ${why}; "${ctx.record.name}" was restored from its images and is running`, {
    hint: (error instanceof CkptError && error.hint) || "check the destination (space, permissions, a closed pipe) and export again",
  });
}

// A lazy dump whose archive could not go out: the container's memory never left it, so
// ending CRIU (which holds the tasks) and thawing the container lets it run on.
export async function abandonLazyDump(ctx: ContainerContext, pageServer: LazyCheckpoint, error: unknown): Promise<CkptError> {
  await pageServer.stop();
  const after = await thawIfPaused(ctx);
  await raiseNetwork(ctx.store, ctx.record).catch(() => {});
  const state = after.status === "paused" || after.status === "running" ? "is running" : `is ${after.status}`;
  const why = error instanceof Error ? error.message : String(error);
  return new CkptError(error instanceof CkptError ? error.exitCode : ExitCode.transferFailed, `${why}; ckpt ended the page server and "${ctx.record.name}" ${state} here`, {
    evidence: error instanceof CkptError ? error.evidence : [],
    ...(error instanceof CkptError && error.hint ? { hint: error.hint } : {}),
  });
}

async function keepInStore(ctx: ContainerContext, checkpoint: CheckpointResult): Promise<void> {
  const kept = join(ctx.store.layout.containerCheckpointsDir(ctx.record.name), basename(checkpoint.dir));
  await cp(checkpoint.dir, `${kept}.partial`, { recursive: true });
  await rename(`${kept}.partial`, kept);
}
