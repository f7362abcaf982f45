// Stops (SIGSTOP) the CRIU that runc runs for `what` under a ckpt root, once CRIU has
// written the first lines of its log (so the log an error names has CRIU's own words, and
// the stop lands in the middle of its work, not before it started or after it answered);
// for a checkpoint, once the log shows the dump itself begun (freezing the tasks), not only
// CRIU's start-up (CRIU 4.1.1 was once stopped while probing its socket modules),
// as a hung CRIU would be; returns its PID. With a sandbox, it is continued (SIGCONT)
// after the test.
import { readdir, readFile, readlink, stat } from "node:fs/promises";
import { join } from "node:path";
import type { CkptRoot } from "./ckpt-root.ts";
import { waitFor } from "./reports.ts";
import type { Sandbox } from "./sandbox.ts";

// A dump's log once CRIU is at the tasks.
const DUMP_BEGUN = /freez|Dumping/i;

export async function stopCriu(ckpt: CkptRoot, what: "checkpoint" | "restore", sandbox?: Sandbox): Promise<number> {
  const runtimeRoot = join(ckpt.root, "runtime", "runc");
  const logWritten = async (pid: number) => {
    for (const fd of await readdir(`/proc/${pid}/fd`).catch(() => [] as string[])) {
      const target = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => "");
      if (!/\.log$/.test(target) || ((await stat(`/proc/${pid}/fd/${fd}`).catch(() => null))?.size ?? 0) === 0) continue;
      if (what === "restore" || DUMP_BEGUN.test(await readFile(`/proc/${pid}/fd/${fd}`, "utf8").catch(() => ""))) return true;
    }
    return false;
  };
  const pid = await waitFor(`CRIU doing a ${what}, its log begun`, async () => {
    for (const pid of (await readdir("/proc")).filter((n) => /^\d+$/.test(n)).map(Number)) {
      if ((await readFile(`/proc/${pid}/comm`, "utf8").catch(() => "")).trim() !== "criu") continue;
      const ppid = Number((await readFile(`/proc/${pid}/stat`, "utf8").catch(() => "")).split(") ")[1]?.split(" ")[1]);
      const parent = (await readFile(`/proc/${ppid}/cmdline`, "utf8").catch(() => "")).split("\0");
      if (parent.some((a) => a.includes(runtimeRoot)) && parent.includes(what) && (await logWritten(pid))) {
        process.kill(pid, "SIGSTOP");
        return pid;
      }
    }
    return undefined;
  }, 30_000);
  sandbox?.defer(async () => {
    try {
      process.kill(pid, "SIGCONT");
    } catch {
      // Already gone.
    }
  });
  return pid;
}
