// Mounts a killed CRIU or runtime leaves behind: runc bind-mounts the root filesystem at
// STATE/ID/criu-root for a restore, and CRIU mounts every cgroup hierarchy in a
// `.criu.cgyard.*` directory of its work directory. When CRIU dies mid-way nobody
// unmounts them, and they block the next restore of the same container.
import { readFile } from "node:fs/promises";
import { execa } from "execa";
import { CkptError, ExitCode } from "../errors.ts";
import { unescapeMountPath } from "./cgroups.ts";

// Pure: the mount points at or below any of `dirs`, deepest first.
export function mountsUnder(mountinfo: string, dirs: string[]): string[] {
  const points = mountinfo
    .split("\n")
    .map((line) => line.split(" ")[4])
    .filter((p): p is string => p !== undefined && p !== "")
    .map(unescapeMountPath);
  const inside = (p: string) => dirs.some((d) => p === d || p.startsWith(`${d.replace(/\/+$/, "")}/`));
  return [...new Set(points.filter(inside))].sort((a, b) => b.split("/").length - a.split("/").length || (a < b ? 1 : -1));
}

// Lazily unmounts everything at or below `dirs`; returns what is still mounted there
// afterwards (empty when all went).
export async function unmountBelow(dirs: string[]): Promise<string[]> {
  for (const point of mountsUnder(await readFile("/proc/self/mountinfo", "utf8"), dirs)) {
    await execa("umount", ["--lazy", point], { reject: false });
  }
  return mountsUnder(await readFile("/proc/self/mountinfo", "utf8"), dirs);
}

// Unmounts what is left below `dir`, and throws if anything stays: a recursive delete
// there would go through the mount (runc's criu-root is the container's root filesystem).
export async function refuseWhileMounted(dir: string, what: string): Promise<void> {
  const left = await unmountBelow([dir]).catch(() => [] as string[]);
  if (left.length > 0) {
    throw new CkptError(ExitCode.runtimeFailed, `refusing to delete ${what}: something is still mounted below it`, {
      evidence: left.map((m) => `mounted: ${m}`),
      hint: "unmount it (umount -l PATH), then try again",
    });
  }
}
