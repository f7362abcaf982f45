// Mountpoints a restore needs before CRIU runs. CRIU restores each bind mount onto a
// mountpoint that must already exist: in the root filesystem, or, for a mount nested in
// another bind mount, in the source directory of that outer mount. runc creates them
// itself; crun 1.21 creates them in the root filesystem only, so a nested mount whose
// mountpoint is missing from the outer source fails with "mnt-v2: Can't stat mountpoint".
import { existsSync, statSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { dirname, isAbsolute, join, posix } from "node:path";
import { isBindMount } from "../oci/spec.ts";
import { linkReaderIn, resolveInRoot } from "../container/path-in-root.ts";
import { CkptError, ExitCode } from "../errors.ts";
import type { OciSpec } from "../oci/spec.ts";

export interface Mountpoint {
  // Where it lives: the root filesystem or the source of the bind mount it is nested in.
  base: string;
  // Its path below `base`, which symbolic links in `base` never leave.
  pathInBase: string;
  kind: "directory" | "file";
  // The destination of the mount it is for, in the container.
  destination: string;
}

// Pure: one mountpoint per bind mount, in the source of the innermost bind mount listed
// before it that holds its destination, else in the root filesystem. A mount nested in a
// tmpfs needs nothing: CRIU restores the tmpfs's contents, mountpoints included.
export function planMountpoints(spec: OciSpec, sourceIsDirectory: (source: string) => boolean): Mountpoint[] {
  const mounts = spec.mounts ?? [];
  const planned: Mountpoint[] = [];
  mounts.forEach((mount, index) => {
    if (!isBindMount(mount) || mount.source === undefined) return;
    const destination = posix.resolve("/", mount.destination);
    if (destination === "/") return;
    const outer = mounts
      .slice(0, index)
      .map((m) => ({ mount: m, at: posix.resolve("/", m.destination) }))
      .filter((o) => o.at === "/" || destination.startsWith(`${o.at}/`))
      .sort((a, b) => b.at.length - a.at.length)[0];
    const kind = sourceIsDirectory(mount.source) ? "directory" : "file";
    if (outer === undefined) {
      planned.push({ base: spec.root.path, pathInBase: destination, kind, destination });
    } else if (isBindMount(outer.mount) && outer.mount.source !== undefined && isAbsolute(outer.mount.source)) {
      planned.push({ base: outer.mount.source, pathInBase: posix.relative(outer.at, destination), kind, destination });
    }
  });
  return planned;
}

// The real-filesystem side: whether a mount's source is a directory (what a missing
// source would become is the runtime's to say; a directory is the common case).
export function isDirectoryOrMissing(source: string): boolean {
  try {
    return statSync(source).isDirectory();
  } catch {
    return true;
  }
}

// Creates the mountpoints that are missing: directories, or empty files for files bound
// onto files. Links are resolved inside each base, so nothing is created outside the root
// filesystem or a mount source the spec names. Returns the host paths it created.
export async function createMountpoints(mountpoints: readonly Mountpoint[]): Promise<string[]> {
  const created: string[] = [];
  for (const point of mountpoints) {
    if (!existsSync(point.base)) continue;
    const target = join(point.base, resolveInRoot(point.pathInBase, linkReaderIn(point.base)));
    if (existsSync(target)) continue;
    try {
      await mkdir(dirname(target), { recursive: true });
      if (point.kind === "directory") await mkdir(target);
      else await writeFile(target, "", { flag: "wx", mode: 0o644 });
    } catch (error) {
      throw new CkptError(ExitCode.refused, `cannot create the mountpoint of ${point.destination} at ${target}: ${(error as Error).message}`, {
        hint: "CRIU restores the mount onto it; make that path a directory (or, for a file mount, a file) and restore again",
      });
    }
    created.push(target);
  }
  return created;
}
