// An imported container's root filesystem and spec. ckpt's archives carry the whole
// root filesystem; podman's carry the changes to its image (rootfs-diff.tar plus
// deleted.files), applied here to a copy of the base the user names with --rootfs.
import { existsSync } from "node:fs";
import { chmod, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { recordedRootMode } from "../criu/dump-contents.ts";
import { join, normalize } from "node:path";
import { execa } from "execa";
import * as tar from "tar";
import { CheckpointFiles } from "../checkpoint/checkpoint-dir.ts";
import { checkArchiveEntry, DEFAULT_ENTRY_LIMITS, type EntryContext, type EntryVerdict } from "../archive/entry-safety.ts";
import { CkptError, ExitCode } from "../errors.ts";
import type { OciSpec } from "../oci/spec.ts";

interface Mount {
  destination: string;
  type?: string;
  source?: string;
  options?: string[];
}

export interface Placeholder {
  destination: string;
  source: string;
  kind: "file" | "dir";
}

// podman and CRI-O bind per-container files (hosts, hostname, resolv.conf,
// .containerenv, the /dev/shm directory) from the engine's own userdata directory.
const ENGINE_USERDATA = /\/(overlay-)?containers\/[^/]+\/userdata(\/|$)/;

// Pure: the spec an imported container runs with: its new root, its own cgroup path,
// and placeholders for the engine's per-container files that stayed on the other host.
export function planImportedSpec(source: OciSpec, rootfs: string, mountsDir: string, exists: (path: string) => boolean): { spec: OciSpec; placeholders: Placeholder[] } {
  const spec = structuredClone(source) as OciSpec & { mounts?: Mount[]; linux?: { cgroupsPath?: string } };
  spec.root.path = rootfs;
  if (spec.linux !== undefined) delete spec.linux.cgroupsPath;
  const placeholders: Placeholder[] = [];
  const missing: string[] = [];
  for (const mount of spec.mounts ?? []) {
    const bind = mount.type === "bind" || (mount.options ?? []).some((o) => o === "bind" || o === "rbind");
    if (!bind || mount.source === undefined || exists(mount.source)) continue;
    if (!ENGINE_USERDATA.test(mount.source)) {
      missing.push(`${mount.destination}: ${mount.source}`);
      continue;
    }
    const kind = mount.destination === "/dev/shm" || mount.source.endsWith("/shm") ? "dir" : "file";
    const path = join(mountsDir, mount.destination.replace(/^\/+/, "").replace(/\//g, "_"));
    placeholders.push({ destination: mount.destination, source: path, kind });
    mount.source = path;
  }
  if (missing.length > 0) {
    throw new CkptError(ExitCode.notFound, `the container's bind mounts name sources that do not exist on this host`, {
      evidence: missing,
      hint: "create them (same paths) before restoring: CRIU restores the mounts as they were",
    });
  }
  return { spec, placeholders };
}

// Builds ROOT/containers/NAME/rootfs: a copy of `base` (when given), then the archive's
// root filesystem or changes, each entry judged before it is written.
export async function prepareImportedRootfs(checkpointDir: string, imagesDir: string, rootfs: string, base: string | undefined): Promise<void> {
  await rm(rootfs, { recursive: true, force: true });
  await mkdir(rootfs, { recursive: true, mode: 0o755 });
  if (base !== undefined) await execa("cp", ["-a", "--", `${base}/.`, rootfs]);
  const diff = join(checkpointDir, CheckpointFiles.rootfsDiff);
  if (existsSync(diff)) await extractJudged(diff, rootfs, { rootedLinks: true }, "the archive's root filesystem");
  const deleted = join(checkpointDir, CheckpointFiles.deletedFiles);
  if (existsSync(deleted)) {
    const paths = JSON.parse(await readFile(deleted, "utf8")) as unknown;
    if (!Array.isArray(paths)) throw new CkptError(ExitCode.badCheckpoint, `${CheckpointFiles.deletedFiles} is not a list of paths`);
    for (const p of paths) {
      const rel = normalize(String(p)).replace(/^\/+/, "");
      if (rel.split("/").includes("..")) throw new CkptError(ExitCode.refused, `refusing ${CheckpointFiles.deletedFiles}: ${String(p)} climbs out of the root filesystem`);
      await rm(join(rootfs, rel), { recursive: true, force: true });
    }
  }
  // CRIU checks the root's mode against the dump's (podman's overlay root is 0555).
  const mode = await recordedRootMode(imagesDir);
  if (mode !== null) await chmod(rootfs, mode & 0o7777);
}

// Creates the placeholders and fills /dev/shm from podman's devshm-checkpoint.tar.
export async function createPlaceholders(checkpointDir: string, placeholders: Placeholder[]): Promise<void> {
  for (const p of placeholders) {
    if (p.kind === "dir") await mkdir(p.source, { recursive: true, mode: 0o1777 });
    else {
      await mkdir(join(p.source, ".."), { recursive: true });
      await writeFile(p.source, "", { mode: 0o644 });
    }
    const shm = join(checkpointDir, CheckpointFiles.devShm);
    if (p.destination === "/dev/shm" && existsSync(shm)) await extractJudged(shm, p.source, {}, `the archive's /dev/shm (${CheckpointFiles.devShm})`);
  }
}

// Extracts a tar that came inside an archive (podman's rootfs-diff.tar, devshm-checkpoint.tar)
// only when every entry passes: all are judged first, so one hostile entry refuses the
// whole tar before anything of it is written. Extraction judges again, in case the file
// changed in between. Synchronous: node-tar then extracts a busybox root filesystem
// (280 entries, 3.6 MiB) in 70-90 ms instead of 250-280 ms, and nothing else runs meanwhile.
export async function extractJudged(file: string, cwd: string, context: EntryContext, what: string): Promise<void> {
  let refusal: string | null = null;
  const passes = (path: string, entry: unknown) => {
    const verdict = judge(path, entry, context);
    if (!verdict.ok) refusal ??= verdict.reason;
    return verdict.ok;
  };
  tar.t({ file, sync: true, strict: true, onReadEntry: (entry) => passes(entry.path, entry) });
  const refuse = (reason: string) => new CkptError(ExitCode.refused, `refusing ${what}: ${reason}`, { hint: "only import archives from sources you trust" });
  if (refusal !== null) throw refuse(refusal);
  tar.x({ file, cwd, sync: true, preserveOwner: true, strict: true, filter: passes });
  if (refusal !== null) throw refuse(refusal);
}

// entry-safety's verdict on an entry of a tar file being extracted by node-tar.
function judge(path: string, entry: unknown, context: EntryContext = {}): EntryVerdict {
  const header = entry as tar.ReadEntry;
  return checkArchiveEntry({ path, type: header.type, size: header.size ?? 0, linkpath: header.linkpath }, DEFAULT_ENTRY_LIMITS, context);
}
