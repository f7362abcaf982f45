// How the host's cgroup hierarchies are laid out, which decides whether crun can run.
import { readFileSync } from "node:fs";

export type CgroupMode = "unified" | "hybrid" | "legacy" | "none";

export interface CgroupFacts {
  mode: CgroupMode;
  // Where the cgroup2 hierarchy is mounted, or null.
  unifiedMount: string | null;
  // Controllers the cgroup2 hierarchy holds; in hybrid mode crun refuses to run while
  // this is non-empty.
  unifiedControllers: string[];
  // Controllers bound to v1 hierarchies, sorted.
  v1Controllers: string[];
}

export interface CgroupMount {
  mountPoint: string;
  fsType: "cgroup" | "cgroup2";
  superOptions: string[];
}

// The cgroup mounts listed in a /proc/self/mountinfo text.
export function parseCgroupMounts(mountinfo: string): CgroupMount[] {
  const mounts: CgroupMount[] = [];
  for (const line of mountinfo.split("\n")) {
    // Fields after " - " are: fstype, source, super options.
    const sep = line.indexOf(" - ");
    if (sep < 0) continue;
    const [fsType, , superOpts = ""] = line.slice(sep + 3).split(" ");
    if (fsType !== "cgroup" && fsType !== "cgroup2") continue;
    const mountPoint = line.slice(0, sep).split(" ")[4];
    if (mountPoint === undefined) continue;
    mounts.push({ mountPoint: unescapeMountPath(mountPoint), fsType, superOptions: superOpts.split(",") });
  }
  return mounts;
}

const v1OptionsThatAreNotControllers = new Set(["rw", "ro", "noprefix", "clone_children", "xattr", "cpuset_v2_mode", "nsdelegate", "favordynmods"]);

// The cgroup layout from the mounts and the controllers the cgroup2 mount holds.
export function classifyCgroups(mounts: readonly CgroupMount[], unifiedControllers: readonly string[]): CgroupFacts {
  const v2 = mounts.find((m) => m.fsType === "cgroup2");
  const v1 = mounts.filter((m) => m.fsType === "cgroup");
  const v1Controllers = v1
    .flatMap((m) => m.superOptions)
    .filter((o) => !o.startsWith("name=") && !o.startsWith("release_agent=") && !v1OptionsThatAreNotControllers.has(o));
  let mode: CgroupMode = "none";
  if (v2 && v1.length === 0) mode = "unified";
  else if (v2) mode = "hybrid";
  else if (v1.length > 0) mode = "legacy";
  return {
    mode,
    unifiedMount: v2?.mountPoint ?? null,
    unifiedControllers: [...unifiedControllers].sort(),
    v1Controllers: [...new Set(v1Controllers)].sort(),
  };
}

export function readCgroupFacts(): CgroupFacts {
  const mounts = parseCgroupMounts(readFileSync("/proc/self/mountinfo", "utf8"));
  const v2 = mounts.find((m) => m.fsType === "cgroup2");
  let controllers: string[] = [];
  if (v2) {
    try {
      controllers = readFileSync(`${v2.mountPoint}/cgroup.controllers`, "utf8").split(/\s+/).filter(Boolean);
    } catch {
      /* unreadable: treat as empty */
    }
  }
  return classifyCgroups(mounts, controllers);
}

// mountinfo escapes space, tab, newline and backslash as octal.
export function unescapeMountPath(path: string): string {
  return path.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}
