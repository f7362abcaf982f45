// Watches a long CRIU operation (a dump, a restore) for progress and ends it when nothing
// has moved for the timeout. Progress is any growth of the files CRIU writes (its log, the
// images) or of the bytes the runtime and CRIU processes read and wrote (/proc/PID/io):
// a restore reading a gigabyte of pages logs nothing for seconds, but its reads count.
import { readFile, readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { descendants, killAll } from "../proc/process.ts";
import { observe, stalled, WATCHDOG_START, type WatchdogState } from "./progress-watchdog.ts";

async function size(path: string): Promise<number> {
  const s = await stat(path).catch(() => null);
  if (s === null) return 0;
  if (!s.isDirectory()) return s.size;
  const names = await readdir(path).catch(() => [] as string[]);
  return (await Promise.all(names.map((n) => stat(join(path, n)).then((x) => x.size, () => 0)))).reduce((a, b) => a + b, 0);
}

async function ioChars(pid: number): Promise<number> {
  const text = await readFile(`/proc/${pid}/io`, "utf8").catch(() => "");
  const field = (name: string) => Number(new RegExp(`^${name}: (\\d+)`, "m").exec(text)?.[1] ?? 0);
  return field("rchar") + field("wchar");
}

export interface CriuWatchdog {
  // How long nothing moved when the watchdog ended the operation; null while it has not.
  readonly stalledFor: number | null;
  stop(): void;
}

// `root`: the process to end with its descendants (the runtime, with CRIU below it), or a
// function that finds it once it exists. `paths`: files or directories CRIU writes.
export function watchCriu(root: number | (() => Promise<number | null>), paths: string[], timeoutMs: number): CriuWatchdog {
  // Sampling walks /proc: often enough to end a stall within an eighth of the timeout
  // past it, and with the default 60 s no more than every 2 s, beside a dump that needs the CPU.
  const intervalMs = Math.min(2000, Math.max(50, timeoutMs / 8));
  let state: WatchdogState = WATCHDOG_START;
  let stalledFor: number | null = null;
  let busy = false;
  const timer = setInterval(() => {
    if (busy || stalledFor !== null) return;
    busy = true;
    void (async () => {
      const pid = typeof root === "number" ? root : await root();
      const pids = pid === null ? [] : [pid, ...(await descendants(pid))];
      const counters = [...(await Promise.all(paths.map(size))), (await Promise.all(pids.map(ioChars))).reduce((a, b) => a + b, 0)];
      const now = Date.now();
      state = observe(state, { atMs: now, counters });
      if (pid !== null && stalled(state, now, timeoutMs)) {
        stalledFor = now - (state.lastChangeMs ?? now);
        clearInterval(timer);
        killAll([...pids.slice(1).reverse(), pid]);
      }
    })().finally(() => (busy = false));
  }, intervalMs);
  return {
    get stalledFor() {
      return stalledFor;
    },
    stop: () => clearInterval(timer),
  };
}

// The runtime process restoring container `id` (its command line names the id and
// "restore"), once it has started.
export async function findRestoringRuntime(id: string): Promise<number | null> {
  for (const name of await readdir("/proc").catch(() => [] as string[])) {
    if (!/^\d+$/.test(name)) continue;
    const argv = (await readFile(`/proc/${name}/cmdline`, "utf8").catch(() => "")).split("\0");
    if (argv.includes("restore") && argv.includes(id) && !argv[0]?.endsWith("conmon")) return Number(name);
  }
  return null;
}
