// The container's monitor (conmon) as the host sees it, found through its PID file.
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { readProcStat } from "../proc/process.ts";
import type { StoreLayout } from "../store/layout.ts";

// conmon's PID and the container id it monitors (-c ID), when monitor.pid names a live
// process (not a zombie) whose command line names the container's directory (a reused
// PID does not); else null.
export async function liveMonitor(layout: StoreLayout, name: string): Promise<{ pid: number; id: string | null } | null> {
  const pid = Number((await readFile(layout.monitorPidFile(name), "utf8").catch(() => "")).trim());
  if (!Number.isInteger(pid) || pid <= 1) return null;
  const stat = await readProcStat(pid).catch(() => null);
  if (stat === null || stat.state === "Z") return null;
  const argv = (await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "")).split("\0");
  const dir = resolve(layout.containerDir(name));
  if (!argv.some((a) => a.includes(`${dir}/`))) return null;
  const id = argv[argv.indexOf("-c") + 1];
  return { pid, id: argv.includes("-c") && id !== undefined && /^[0-9a-f]{64}$/.test(id) ? id : null };
}
