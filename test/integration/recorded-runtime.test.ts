// A container's recorded runtime binary (the --runtime-path or runtimes entry it was run
// with) removed or replaced by another kind: ckpt refuses to act on the container naming
// the binary, instead of taking the runtime's "no such container" for an exited one (stop
// said "was not running" and the container went on; rm deleted its record and runc's
// state and left PID 1 running, found by no ckpt command). A restore of a checkpointed
// container whose binary is gone uses the kind's binary instead.
import assert from "node:assert/strict";
import { copyFile, mkdir, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { before, describe, test } from "node:test";
import { execa } from "execa";
import { findExecutable } from "../../src/host/find-executable.ts";
import { createBusyboxBundle, politeShell } from "../harness/bundle.ts";
import { CkptRoot } from "../harness/ckpt-root.ts";
import { requireRealHost } from "../harness/prerequisites.ts";
import { removeStaleSandboxes, Sandbox } from "../harness/sandbox.ts";
import { alive } from "../harness/processes.ts";

interface PsEntry {
  name: string;
  status: string;
  pid: number | null;
  runtimeProblem: string | null;
}



describe("a container's recorded runtime binary", () => {
  before(() => removeStaleSandboxes());

  for (const replacement of ["removed", "crun", "/bin/true"] as const) {
    test(`recorded runc binary ${replacement === "removed" ? "removed" : `replaced by ${replacement}`}: stop, rm, exec and checkpoint refuse naming it, ps says unknown, and PID 1 still runs under runc with its record`, async (t) => {
      if (!(await requireRealHost(t, "runc"))) return;
      const crun = findExecutable("crun");
      if (replacement === "crun" && crun === null) return t.skip("crun is not installed");
      const sandbox = await Sandbox.create(t);
      const ckpt = new CkptRoot(sandbox);
      const own = sandbox.path("opt", "runc");
      await mkdir(sandbox.path("opt"));
      await copyFile(findExecutable("runc")!, own);
      // Before CkptRoot's rm -f: the binary back, so that the container can be removed.
      sandbox.defer(() => copyFile(findExecutable("runc")!, own));
      const bundle = await createBusyboxBundle(sandbox.path("bundle"), { args: politeShell });
      await ckpt.ok(["--runtime-path", own, "run", "-d", "--name", "web", "--network", "none", bundle]);
      const [running] = await ckpt.json<PsEntry[]>(["ps"]);
      assert.ok(running?.pid != null && alive(running.pid));
      const record = JSON.parse(await readFile(join(ckpt.root, "containers", "web", "container.json"), "utf8")) as { id: string; runtimePath: string };
      assert.equal(record.runtimePath, own);

      await rm(own);
      if (replacement !== "removed") await copyFile(replacement === "crun" ? crun! : replacement, own);
      const named = replacement === "removed" ? /runc binary .* cannot be run/ : replacement === "crun" ? /is not runc but crun/ : /is not runc \(its --version says/;
      for (const args of [["stop", "web"], ["rm", "web"], ["rm", "-f", "web"], ["exec", "web", "--", "true"], ["checkpoint", "web"]]) {
        const r = await ckpt.run(args);
        assert.equal(r.exitCode, 3, `ckpt ${args.join(" ")}: ${r.stdout} ${r.stderr}`);
        assert.match(String(r.stderr), named, `ckpt ${args.join(" ")} names the binary`);
        assert.ok(String(r.stderr).includes(own));
      }
      const [shown] = await ckpt.json<PsEntry[]>(["ps"]);
      assert.equal(shown?.status, "unknown", "plain ps shows it, never as exited");
      assert.match(shown?.runtimeProblem ?? "", named);

      // The damage itself: nothing ended it, nothing forgot it.
      assert.ok(alive(running.pid), "PID 1 still runs");
      const state = await execa(findExecutable("runc")!, ["--root", join(ckpt.root, "runtime", "runc"), "state", record.id], { reject: false });
      assert.equal(state.exitCode, 0, `runc still knows the container: ${state.stderr}`);
      assert.equal((JSON.parse(state.stdout) as { status: string }).status, "running");
      assert.equal(JSON.parse(await readFile(join(ckpt.root, "containers", "web", "container.json"), "utf8")).id, record.id, "its record is kept");
    });
  }

  test("a runtimes entry named runc whose binary is crun: a restore without --runtime refuses naming it, and nothing runs", async (t) => {
    if (!(await requireRealHost(t, "runc"))) return;
    const crun = findExecutable("crun");
    if (crun === null) return t.skip("crun is not installed");
    const sandbox = await Sandbox.create(t);
    const ckpt = new CkptRoot(sandbox);
    const bundle = await createBusyboxBundle(sandbox.path("bundle"), { args: politeShell });
    await ckpt.ok(["--runtime", "runc", "run", "-d", "--name", "web", "--network", "none", bundle]);
    const [done] = await ckpt.json<{ checkpoint: string }[]>(["checkpoint", "web"]);
    await ckpt.ok(["rm", "web"]);

    const r = await ckpt.run(["restore", done!.checkpoint], { env: { CKPT_NODE: process.execPath, CKPT_RUNTIMES: `runc=${crun}` } });
    assert.equal(r.exitCode, 3, `${r.stdout} ${r.stderr}`);
    assert.match(String(r.stderr), /is not runc but crun/);
    assert.deepEqual(await ckpt.json<PsEntry[]>(["ps", "-a"]), [], "no container was made");
  });

  test("restore of a checkpointed container whose recorded runc binary is gone: the runc on PATH restores it and becomes its binary", async (t) => {
    if (!(await requireRealHost(t, "runc"))) return;
    const sandbox = await Sandbox.create(t);
    const ckpt = new CkptRoot(sandbox);
    const own = sandbox.path("opt", "runc");
    await mkdir(sandbox.path("opt"));
    await copyFile(findExecutable("runc")!, own);
    const bundle = await createBusyboxBundle(sandbox.path("bundle"), { args: politeShell });
    await ckpt.ok(["--runtime-path", own, "run", "-d", "--name", "web", "--network", "none", bundle]);
    await ckpt.ok(["checkpoint", "web"]);
    await rm(own);

    const restored = await ckpt.json<{ runtimePath: string; pid: number }>(["restore", "web"]);
    assert.equal(restored.runtimePath, findExecutable("runc"));
    assert.ok(alive(restored.pid));
    const [shown] = await ckpt.json<PsEntry[]>(["ps"]);
    assert.equal(shown?.status, "running");
  });
});
