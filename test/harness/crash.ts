// For the crash-safety tests: a container whose state lives in memory, and ckpt killed at
// a named phase.
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { TestContext } from "node:test";
import { execa } from "execa";
import { createBusyboxBundle } from "./bundle.ts";
import { ckptBin } from "./cli.ts";
import { CkptRoot } from "./ckpt-root.ts";
import { waitFor } from "./reports.ts";
import { Sandbox } from "./sandbox.ts";

// A container "c" that counts in memory (a shell variable), writing each value to
// /tmp/count in its root filesystem (on the host's disk: never rolled back with the
// container), and holds `mib` MiB so that a dump takes a moment.
export async function countingContainer(t: TestContext, mib = 16) {
  const sandbox = await Sandbox.create(t);
  const ckpt = new CkptRoot(sandbox);
  const bundle = await createBusyboxBundle(sandbox.path("bundle"), {
    args: ["/bin/sh", "-c", `memory-holder ${mib} >/tmp/holder 2>&1 </dev/null & i=0; while :; do i=$((i+1)); echo $i > /tmp/count.new; mv /tmp/count.new /tmp/count; sleep 0.05; done </dev/null >/dev/null 2>&1`],
  });
  const countFile = join(bundle, "rootfs/tmp/count");
  await ckpt.ok(["--runtime", "runc", "run", "-d", "--name", "c", bundle]);
  await waitFor("the memory holder", async () => ((await readFile(join(bundle, "rootfs/tmp/holder"), "utf8").catch(() => "")).includes("ready") ? true : undefined), 20_000);
  const count = async () => Number((await readFile(countFile, "utf8").catch(() => "0")).trim() || "0");
  return { sandbox, ckpt, bundle, count };
}

// ckpt started in the background; its PID is ckpt's own (bin/ckpt execs node).
export function backgroundCkpt(ckpt: CkptRoot, args: string[], env: Record<string, string> = {}) {
  return execa(ckptBin, ["--root", ckpt.root, ...args], { env: { CKPT_NODE: process.execPath, ...env }, reject: false });
}

// Stops ckpt at `point` (operation:phase, its test-only fault point), then kills it
// (SIGKILL, by PID); returns that PID.
export async function killCkptAt(ckpt: CkptRoot, sandbox: Sandbox, args: string[], point: string): Promise<number> {
  const ready = sandbox.path(`fault-${point.replace(":", "-")}`);
  const child = backgroundCkpt(ckpt, args, { CKPT_FAULT_PAUSE: point, CKPT_FAULT_READY: ready });
  await waitFor(`ckpt to reach ${point}`, async () => (existsSync(ready) ? true : undefined), 60_000);
  process.kill(child.pid!, "SIGKILL");
  await child;
  return child.pid!;
}
