// `ckpt exec NAME -- CMD | head`: when the reader goes away, ckpt used to die on an
// unhandled EPIPE with a stack trace and leave the exec'd process (and its conmon)
// running in the container, writing into a log nobody reads.
import assert from "node:assert/strict";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { before, describe, test } from "node:test";
import { execa } from "execa";
import { readContainerTasks } from "../../src/proc/container-tasks.ts";
import { runtimeNames } from "../../src/runtimes/runtime.ts";
import { createBusyboxBundle } from "../harness/bundle.ts";
import { ckptBin } from "../harness/cli.ts";
import { CkptRoot } from "../harness/ckpt-root.ts";
import { requireRealHost } from "../harness/prerequisites.ts";
import { removeStaleSandboxes, Sandbox } from "../harness/sandbox.ts";

interface PsEntry {
  name: string;
  id: string;
  pid: number | null;
}

// Host processes whose command line has `word`.
async function processesWith(word: string): Promise<string[]> {
  const pids = (await readdir("/proc")).filter((n) => /^\d+$/.test(n));
  const lines = await Promise.all(pids.map((pid) => readFile(`/proc/${pid}/cmdline`, "utf8").then((c) => c.split("\0").join(" "), () => "")));
  return lines.filter((l) => l.includes(word));
}

for (const runtime of runtimeNames) {
  describe(`${runtime}: ckpt exec into a closed pipe`, () => {
    before(() => removeStaleSandboxes());

    test("ends quietly with 141, no stack trace, and the exec'd process and everything it started are gone", async (t) => {
      if (!(await requireRealHost(t, runtime))) return;
      const sandbox = await Sandbox.create(t);
      const ckpt = new CkptRoot(sandbox);
      const bundle = await createBusyboxBundle(sandbox.path("bundle"), { args: ["/bin/sh", "-c", "exec sleep 1000 </dev/null >/dev/null 2>&1"] });
      await ckpt.ok(["--runtime", runtime, "run", "-d", "--name", "talker", bundle]);
      const marker = `closed-pipe-${process.pid}`;
      const pipeline = `"${ckptBin}" --root "${ckpt.root}" exec talker -- sh -c 'yes ${marker} | cat' | head -n 2; echo "ckpt-status=\${PIPESTATUS[0]}" >&2`;
      const r = await execa("bash", ["-c", pipeline], { reject: false, timeout: 30_000, env: { CKPT_NODE: process.execPath } });
      assert.equal(String(r.stdout), `${marker}\n${marker}`, "head got its two lines");
      const stderr = String(r.stderr);
      assert.match(stderr, /ckpt-status=141$/, "ckpt exits as a program killed by SIGPIPE would");
      assert.doesNotMatch(stderr, /EPIPE|internal error|\n\s+at /, `no stack trace: ${stderr}`);

      const entry = (await ckpt.json<PsEntry[]>(["ps"])).find((c) => c.name === "talker");
      assert.ok(entry?.pid, "the container itself runs on");
      const tasks = await readContainerTasks(entry.pid);
      assert.deepEqual(tasks.map((task) => task.command), ["sleep 1000"], "only PID 1 is left in the container");
      assert.deepEqual(await processesWith(marker), [], "no process with the command is left on the host");
      assert.deepEqual((await processesWith(`${entry.id}`)).filter((l) => l.includes("--exec")), [], "the exec's conmon is gone");
      assert.deepEqual(await readdir(join(ckpt.root, "containers/talker/exec")), [], "the exec's scratch directory is removed");
    });
  });
}
