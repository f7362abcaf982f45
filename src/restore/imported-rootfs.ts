// An imported container's root filesystem and spec. ckpt's archives carry the whole
// root filesystem; podman's carry the changes to its image (rootfs-diff.tar plus
// deleted.files), applied here to a copy of the base the user names with --rootfs.
import { linkReaderIn, resolveInRoot } from "../container/path-in-root.ts";
import { existsSync } from "node:fs";
import { chmod, link, lstat, mkdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { recordedRootMode } from "../criu/dump-contents.ts";
import { basename, dirname, join, normalize, relative } from "node:path";
import { execa } from "execa";
import * as tar from "tar";
import { CheckpointFiles } from "../checkpoint/checkpoint-dir.ts";
import { checkArchiveEntry, DEFAULT_ENTRY_LIMITS, type EntryContext, type EntryVerdict } from "../archive/entry-safety.ts";
import { CkptError, ExitCode } from "../errors.ts";
import { isBindMount, type OciSpec } from "../oci/spec.ts";

export interface Placeholder {
  destination: string;
  source: string;
  kind: "file" | "dir";
}

// podman and CRI-O bind per-container files (hosts, hostname, resolv.conf,
// .containerenv, the /dev/shm directory) from the engine's own userdata directory.
export const ENGINE_USERDATA = /\/(overlay-)?containers\/[^/]+\/userdata(\/|$)/;

// Pure: the spec an imported container runs with: its new root, its own cgroup path,
// and placeholders for the engine's per-container files that stayed on the other host.
export function planImportedSpec(source: OciSpec, rootfs: string, mountsDir: string, exists: (path: string) => boolean): { spec: OciSpec; placeholders: Placeholder[] } {
  const spec = structuredClone(source) as OciSpec & { linux?: { cgroupsPath?: string } };
  spec.root.path = rootfs;
  if (spec.linux !== undefined) delete spec.linux.cgroupsPath;
  const placeholders: Placeholder[] = [];
  const missing: string[] = [];
  for (const mount of spec.mounts ?? []) {
    if (!isBindMount(mount) || mount.source === undefined) continue;
    // An engine's per-container files (podman's userdata) always get ckpt's own stand-ins,
    // even when they exist here: they are another container's, never this one's to share.
    if (!ENGINE_USERDATA.test(mount.source)) {
      if (!exists(mount.source)) missing.push(`${mount.destination}: ${mount.source}`);
      continue;
    }
    const kind = mount.destination === "/dev/shm" || mount.source.endsWith("/shm") ? "dir" : "file";
    // One plain name per stand-in, whatever the destination says ("/..", "/./x"): never a
    // path that leaves the directory of stand-ins.
    const path = join(mountsDir, `${placeholders.length}-${mount.destination.replace(/[^A-Za-z0-9._-]+/g, "_").replace(/^[._]+/, "") || "root"}`);
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
  if (existsSync(diff)) await extractJudged(diff, rootfs, { rootedLinks: true, linksAllowed: true }, "the archive's root filesystem");
  const deleted = join(checkpointDir, CheckpointFiles.deletedFiles);
  if (existsSync(deleted)) {
    const paths = JSON.parse(await readFile(deleted, "utf8")) as unknown;
    if (!Array.isArray(paths)) throw new CkptError(ExitCode.badCheckpoint, `${CheckpointFiles.deletedFiles} is not a list of paths`);
    await removeDeletedFiles(rootfs, paths.map(String));
  }
  // CRIU checks the root's mode against the dump's (podman's overlay root is 0555).
  const mode = await recordedRootMode(imagesDir);
  if (mode !== null) await chmod(rootfs, mode & 0o7777);
}

// Removes what the container deleted from its image (podman's deleted.files), each path
// resolved inside the root filesystem: a link on the way (Debian's /var/run -> /run) is
// followed as the container would follow it, within its root, never to the host's; the
// last component itself is removed, not what it may link to.
export async function removeDeletedFiles(rootfs: string, paths: string[]): Promise<void> {
  const readLink = linkReaderIn(rootfs);
  for (const p of paths) {
    const rel = normalize(p).replace(/^\/+/, "");
    if (rel === "" || rel === "." || rel.split("/").includes("..")) throw new CkptError(ExitCode.refused, `refusing ${CheckpointFiles.deletedFiles}: ${p} is not a path inside the root filesystem`);
    const parent = resolveInRoot(dirname(`/${rel}`), readLink);
    await rm(join(rootfs, parent, basename(rel)), { recursive: true, force: true });
  }
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
    if (p.destination === "/dev/shm" && existsSync(shm)) await extractJudged(shm, p.source, { linksAllowed: true }, `the archive's /dev/shm (${CheckpointFiles.devShm})`);
  }
}

// Extracts a tar that came inside an archive (podman's rootfs-diff.tar, devshm-checkpoint.tar)
// only when every entry passes: all are judged first, so one hostile entry refuses the
// whole tar before anything of it is written. Extraction judges again, in case the file
// changed in between. Synchronous: node-tar then extracts a busybox root filesystem
// (280 entries, 3.6 MiB) in 70-90 ms instead of 250-280 ms, and nothing else runs meanwhile.
//
// Links are the container's, kept exactly as they are (absolute ones included: node-tar
// would strip their "/", and refuses them in strict mode), and made last, by placeLinks:
// while files and directories are written no link of the tar exists, and node-tar never
// writes through one (a link of a --rootfs base).
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
  const links: DeferredLink[] = [];
  const filesAndDirectories = (path: string, entry: unknown) => {
    if (!passes(path, entry)) return false;
    const header = entry as tar.ReadEntry;
    if (header.type !== "SymbolicLink" && header.type !== "Link") return true;
    links.push({ path, hard: header.type === "Link", linkpath: header.linkpath ?? "" });
    return false;
  };
  try {
    tar.x({ file, cwd, sync: true, preserveOwner: true, strict: true, filter: filesAndDirectories });
  } catch (error) {
    // node-tar never writes through a symbolic link: an entry below one is an attack, not
    // a damaged tar.
    const e = error as { code?: string; path?: string; symlink?: string; message?: string };
    if (e.code === "TAR_SYMLINK_ERROR") throw refuse(`${e.path === undefined ? "an entry" : relative(cwd, e.path)} would be written through a symbolic link (${e.symlink === undefined ? "on its way" : relative(cwd, e.symlink)}); links are extracted as they are, never followed`);
    throw new CkptError(ExitCode.badCheckpoint, `cannot extract ${what}: ${e.message ?? String(error)}`, { hint: "the archive may be damaged; nothing outside the destination was written" });
  }
  if (refusal !== null) throw refuse(refusal);
  const unplaceable = await placeLinks(cwd, links);
  if (unplaceable !== null) throw refuse(unplaceable);
}

interface DeferredLink {
  path: string;
  hard: boolean;
  linkpath: string;
}

// Makes the tar's links beneath `root`, in the tar's order, never through a link: every
// directory on the way must be a real directory (made when missing), a hard link's source
// a path with no link in it. What was there is replaced, as tar would. Returns why a link
// cannot be placed, or null.
async function placeLinks(root: string, links: DeferredLink[]): Promise<string | null> {
  for (const l of links) {
    const rel = normalize(l.path).replace(/^(\.\/)+/, "").replace(/\/+$/, "");
    const parent = await realDirectoryBeneath(root, dirname(rel), true);
    if (typeof parent === "string") return `${l.path}: ${parent}`;
    const target = join(root, rel);
    const existing = await lstat(target).catch(() => null);
    if (existing !== null) await rm(target, { recursive: existing.isDirectory(), force: true });
    if (l.hard) {
      const source = normalize(l.linkpath).replace(/^(\.\/)+/, "");
      const sourceParent = await realDirectoryBeneath(root, dirname(source), false);
      const sourceStat = await lstat(join(root, source)).catch(() => null);
      if (typeof sourceParent === "string" || sourceStat === null || sourceStat.isSymbolicLink() || sourceStat.isDirectory()) {
        return `${l.path}: a hard link to ${l.linkpath}, which is not a file extracted beneath the root filesystem${typeof sourceParent === "string" ? ` (${sourceParent})` : ""}`;
      }
      await link(join(root, source), target);
    } else {
      await symlink(l.linkpath, target);
    }
  }
  return null;
}

// Walks `rel` beneath `root` component by component: each must be a real directory, not a
// link (made when missing and `create`). Returns true, or why not.
async function realDirectoryBeneath(root: string, rel: string, create: boolean): Promise<true | string> {
  let at = root;
  for (const part of rel.split("/").filter((p) => p !== "" && p !== ".")) {
    if (part === "..") return "its path climbs out of the root filesystem";
    at = join(at, part);
    const st = await lstat(at).catch(() => null);
    if (st === null) {
      if (!create) return `${relative(root, at)} does not exist`;
      await mkdir(at, { mode: 0o755 });
    } else if (st.isSymbolicLink()) {
      return `${relative(root, at)} is a symbolic link, and links are never followed`;
    } else if (!st.isDirectory()) {
      return `${relative(root, at)} is not a directory`;
    }
  }
  return true;
}

// entry-safety's verdict on an entry of a tar file being extracted by node-tar.
function judge(path: string, entry: unknown, context: EntryContext = {}): EntryVerdict {
  const header = entry as tar.ReadEntry;
  return checkArchiveEntry({ path, type: header.type, size: header.size ?? 0, linkpath: header.linkpath }, DEFAULT_ENTRY_LIMITS, context);
}
