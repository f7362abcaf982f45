// Every process in a container's cgroup, with what the checkpoint pre-flight needs.
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { parseCgroupMounts, type CgroupMount } from "../host/cgroups.ts";
import { readCommandLine, readProcStat, readTimeNamespace } from "./process.ts";

// A process of the container, as the checkpoint pre-flight (checkpoint/preflight.ts) judges it.
export interface ContainerTask {
  // Host PID and parent PID.
  pid: number;
  ppid: number;
  command: string;
  // Inode of /proc/PID/ns/time.
  timeNamespace: string;
}

// Hierarchies that hold every task of a container, in order of preference.
const PREFERRED_V1 = ["freezer", "pids", "memory", "cpu"];

// The directory of `pid`'s cgroup in a hierarchy that lists all of the container's tasks.
export function containerCgroupDir(procCgroup: string, mounts: readonly CgroupMount[]): string | null {
  const entries = procCgroup
    .split("\n")
    .filter((l) => l !== "")
    .map((line) => {
      const [, , controllers = "", path = ""] = /^(\d+):([^:]*):(.*)$/.exec(line) ?? [];
      return { controllers: controllers.split(","), path };
    });
  for (const controller of PREFERRED_V1) {
    const entry = entries.find((e) => e.controllers.includes(controller));
    const mount = mounts.find((m) => m.fsType === "cgroup" && m.superOptions.includes(controller));
    if (entry && mount) return join(mount.mountPoint, entry.path);
  }
  const unified = entries.find((e) => e.controllers.length === 1 && e.controllers[0] === "");
  const v2 = mounts.find((m) => m.fsType === "cgroup2");
  return unified && v2 ? join(v2.mountPoint, unified.path) : null;
}

// The PIDs in `dir` and every cgroup below it.
async function cgroupPids(dir: string): Promise<number[]> {
  const own = (await readFile(join(dir, "cgroup.procs"), "utf8")).split("\n").filter((l) => l !== "").map(Number);
  const children = (await readdir(dir, { withFileTypes: true })).filter((d) => d.isDirectory());
  const nested = await Promise.all(children.map((d) => cgroupPids(join(dir, d.name))));
  return [...own, ...nested.flat()];
}

// The tasks of the container whose PID 1 is `pid1`, read from its cgroup and /proc.
// Processes that exit while being read are left out.
export async function readContainerTasks(pid1: number): Promise<ContainerTask[]> {
  const [procCgroup, mountinfo] = await Promise.all([readFile(`/proc/${pid1}/cgroup`, "utf8"), readFile("/proc/self/mountinfo", "utf8")]);
  const dir = containerCgroupDir(procCgroup, parseCgroupMounts(mountinfo));
  const pids = dir === null ? [pid1] : await cgroupPids(dir);
  const tasks = await Promise.all(
    [...new Set(pids)].sort((a, b) => a - b).map(async (pid) => {
      try {
        const [stat, command, timeNamespace] = await Promise.all([readProcStat(pid), readCommandLine(pid), readTimeNamespace(pid)]);
        return { pid, ppid: stat.ppid, command, timeNamespace: String(timeNamespace) };
      } catch {
        return null;
      }
    }),
  );
  return tasks.filter((t): t is ContainerTask => t !== null);
}
