// `ckpt repair --unify-timens`: a copy of a checkpoint whose tasks are all in PID 1's time
// namespace (TESTBED fact 2), with that namespace's clocks chosen by unify-plan.ts. The
// original is never written to: the copy is built in a fresh OUT.partial-XXXXXX and
// renamed when done; nothing already at OUT (a link included) is written through.
import { existsSync } from "node:fs";
import { cp, lstat, mkdtemp, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { join, relative, resolve } from "node:path";
import { unpackArchive } from "../archive/import-checkpoint.ts";
import { readBootId, readHostClocks } from "../clock/host-clocks.ts";
import { MANIFEST_JSON, MANIFEST_PB, writeManifest } from "../checkpoint/manifest.ts";
import { readDumpContents, tasksOutsideRootTimeNamespace, type DumpedTask } from "../criu/dump-contents.ts";
import { decodeEntries, encodeImage, encodeTimens, IDS_MAGIC } from "../criu/images.ts";
import { CkptError, ExitCode } from "../errors.ts";
import { checkpointKind, openCheckpointSource } from "../restore/checkpoint-source.ts";
import { resolveCheckpoint } from "../restore/resolve-checkpoint.ts";
import type { ContainerStore } from "../store/container-store.ts";
import { planTimensUnification, type UnifyPlan } from "./unify-plan.ts";

export interface RepairResult {
  source: string;
  output: string | null;
  rootNamespaceId: number;
  moved: { pid: number; command: string; fromNamespaceId: number }[];
  plan: UnifyPlan | null;
}

export async function repairUnifyTimens(store: ContainerStore, target: string, output: string | undefined): Promise<RepairResult> {
  const isFile = existsSync(target) && (await stat(target)).isFile();
  if (isFile) {
    const unpacked = await unpackArchive(store.layout.root, target);
    try {
      return await repairDirectory(unpacked.dir, unpacked.label, output ?? `${unpacked.label.replace(/\.tar(\.zst|\.gz)?$/, "")}.repaired`);
    } finally {
      await unpacked.remove();
    }
  }
  const dir = checkpointKind(target) !== null ? resolve(target) : await resolveCheckpoint(store, target);
  return repairDirectory(dir, dir, output ?? `${dir.replace(/\/+$/, "")}.repaired`);
}

async function repairDirectory(dir: string, label: string, output: string): Promise<RepairResult> {
  const kind = checkpointKind(dir);
  const source = kind === "ckpt" ? await openCheckpointSource(dir) : null;
  const imagesDir = source?.imagesDir ?? (kind === "podman" ? join(dir, "checkpoint") : dir);
  const dump = await readDumpContents(imagesDir, { details: false });
  const outside = tasksOutsideRootTimeNamespace(dump);
  const root = dump.rootTimeNsId;
  if (outside.length === 0 || root === null) return { source: label, output: null, rootNamespaceId: root ?? 0, moved: [], plan: null };
  if (dump.timens === null) throw new CkptError(ExitCode.badCheckpoint, `${label} has no time namespace image: there is no clock to unify on`);

  const out = resolve(output);
  // lstat: a link at OUT, even a dangling one, is something already there.
  if ((await lstat(out).catch(() => null)) !== null) throw new CkptError(ExitCode.conflict, `${out} already exists`, { hint: "choose another -o, or remove it" });
  const manifest = source?.manifest ?? null;
  const plan = planTimensUnification({
    pid1: { monotonicNs: dump.timens.monotonicNs, boottimeNs: dump.timens.boottimeNs },
    hostAtDump: manifest === null || manifest.bootId === "" ? null : { monotonicNs: BigInt(manifest.timeNamespace.host.monotonicNs), boottimeNs: BigInt(manifest.timeNamespace.host.boottimeNs) },
    dumpUptimeNs: dump.dumpUptimeNs,
    boottimeAtImagesNs: await boottimeAtWrite(join(imagesDir, "inventory.img"), manifest?.bootId ?? null),
  });

  // A name nobody could have prepared (a link planted at OUT.partial would be written through).
  const partial = await mkdtemp(`${out}.partial-`);
  try {
    await cp(dir, partial, { recursive: true, preserveTimestamps: true });
    const images = join(partial, relative(dir, imagesDir));
    for (const task of outside) await moveTask(images, task, root);
    await writeFile(join(images, dump.timens.imageName), encodeTimens(plan.clocks));
    if (manifest !== null) {
      const pid1Inode = manifest.timeNamespace.pid1Inode;
      await writeManifest(partial, {
        ...manifest,
        tasks: manifest.tasks.map((t) => ({ ...t, timeNamespaceInode: pid1Inode })),
        timeNamespace: { ...manifest.timeNamespace, dumpedMonotonicNs: String(plan.clocks.monotonicNs), dumpedBoottimeNs: String(plan.clocks.boottimeNs) },
        // The images changed: the archive digests no longer describe them.
        files: [],
      });
    } else {
      await rm(join(partial, MANIFEST_JSON), { force: true });
      await rm(join(partial, MANIFEST_PB), { force: true });
    }
    // Check the result the way restore will.
    const check = await readDumpContents(images, { details: false });
    if (tasksOutsideRootTimeNamespace(check).length > 0) throw new CkptError(ExitCode.internal, "the repaired images still name more than one time namespace");
    await rename(partial, out).catch((error: NodeJS.ErrnoException) => {
      throw error.code === "ENOTDIR" || error.code === "ENOTEMPTY" || error.code === "EEXIST" ? new CkptError(ExitCode.conflict, `${out} appeared while the copy was built`, { hint: "choose another -o, or remove it" }) : error;
    });
  } catch (error) {
    await rm(partial, { recursive: true, force: true });
    throw error;
  }
  return { source: label, output: out, rootNamespaceId: root, moved: outside.map((t) => ({ pid: t.pid, command: t.command, fromNamespaceId: t.ids?.timeNsId ?? 0 })), plan };
}

// Rewrites one task's ids image with PID 1's time namespace id. The schema lists every
// field of that message; a re-encoding that would not reproduce the original bytes (a
// CRIU with fields ckpt does not know) is refused rather than lose them.
async function moveTask(imagesDir: string, task: DumpedTask, rootNamespaceId: number): Promise<void> {
  const name = `ids-${task.pid}.img`;
  const bytes = await readFile(join(imagesDir, name));
  const entries = decodeEntries(bytes, name, IDS_MAGIC, "criu.TaskKobjIdsEntry", { defaults: false });
  const again = encodeImage(IDS_MAGIC, "criu.TaskKobjIdsEntry", entries);
  if (Buffer.compare(Buffer.from(again), bytes) !== 0) {
    throw new CkptError(ExitCode.badCheckpoint, `${name} holds fields this ckpt does not know; rewriting it could lose them`, { hint: "this CRIU is newer than ckpt's schemas; nothing was written" });
  }
  await writeFile(join(imagesDir, name), encodeImage(IDS_MAGIC, "criu.TaskKobjIdsEntry", entries.map((e) => ({ ...e, time_ns_id: rootNamespaceId }))));
}

// The host's boottime when `path` was written, if that was on this boot.
async function boottimeAtWrite(path: string, bootId: string | null): Promise<bigint | null> {
  const [now, currentBoot, written] = await Promise.all([readHostClocks(), readBootId(), stat(path, { bigint: true })]);
  if (bootId !== null && bootId !== "" && bootId !== currentBoot) return null;
  const bootRealtimeNs = now.realtimeNs - now.boottimeNs;
  return written.mtimeNs > bootRealtimeNs ? written.mtimeNs - bootRealtimeNs : null;
}
