// Watches a running dump for progress (CRIU's log and the images growing) and, when
// nothing has moved for the timeout, ends CRIU and the runtime that started it. The
// caller then sees a failed dump and thaws the container as after any CRIU failure.
import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { descendants } from "../proc/process.ts";
import { observe, stalled, WATCHDOG_START, type WatchdogState } from "../recovery/progress-watchdog.ts";

async function bytes(path: string): Promise<number> {
  return (await stat(path).catch(() => null))?.size ?? 0;
}

async function directoryBytes(dir: string): Promise<number> {
  const names = await readdir(dir).catch(() => [] as string[]);
  return (await Promise.all(names.map((n) => bytes(join(dir, n))))).reduce((a, b) => a + b, 0);
}

export interface DumpWatchdog {
  // Set once the watchdog gave up on the dump.
  readonly stalledFor: number | null;
  stop(): void;
}

export function watchDump(runtimePid: number, logPath: string, imageDir: string, timeoutMs: number, intervalMs = Math.min(500, Math.max(50, timeoutMs / 4))): DumpWatchdog {
  let state: WatchdogState = WATCHDOG_START;
  let stalledFor: number | null = null;
  let busy = false;
  const timer = setInterval(() => {
    if (busy || stalledFor !== null) return;
    busy = true;
    void (async () => {
      const now = Date.now();
      state = observe(state, { atMs: now, counters: [await bytes(logPath), await directoryBytes(imageDir)] });
      if (stalled(state, now, timeoutMs)) {
        stalledFor = now - (state.lastChangeMs ?? now);
        clearInterval(timer);
        // CRIU first (the runtime's children), then the runtime itself.
        for (const pid of [...(await descendants(runtimePid)).reverse(), runtimePid]) {
          try {
            process.kill(pid, "SIGKILL");
          } catch {
            // already gone
          }
        }
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
