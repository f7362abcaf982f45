// CRIU's dump options travel with the checkpoint: a lock held with flock stays exclusive
// after a plain restore, after restore --all and after a migration; and the operator's
// own CRIU configuration (the bundle's org.criu.config file) is in effect, with ckpt
// saying where its own options override it. On real runc and crun, with real CRIU.
import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { before, describe, test } from "node:test";
import { createBusyboxBundle } from "../harness/bundle.ts";
import { ckptBin } from "../harness/cli.ts";
import { CkptRoot } from "../harness/ckpt-root.ts";
import { requireRealHost } from "../harness/prerequisites.ts";
import { waitFor } from "../harness/reports.ts";
import { removeStaleSandboxes, Sandbox } from "../harness/sandbox.ts";
import type { RuntimeName } from "../../src/runtimes/runtime.ts";

interface PsEntry {
  name: string;
  status: string;
  pid: number | null;
}

interface RestoreJson {
  pid: number;
  options: { name: string; from: string; detail: string }[];
  criuConfig: { readByRuntime: boolean; options: string[]; overrides: string[] };
  warnings: string[];
}

// PID 1 takes an exclusive flock on a file in the container's root filesystem, says so,
// and sleeps holding it.
const LOCKED = "/tmp/held.lock";
const lockHolder = ["/usr/bin/file-lock", "hold", LOCKED];

async function holdLock(ckpt: CkptRoot, runtime: RuntimeName, name: string, bundle: string, extra: string[] = []): Promise<void> {
  const r = await ckpt.run(["--runtime", runtime, "run", "-d", "--name", name, ...extra, bundle]);
  assert.equal(r.exitCode, 0, String(r.stderr));
  await waitFor(`${name} to take its lock`, async () => (/locked/.test(String((await ckpt.ok(["logs", name])).stdout)) ? true : undefined));
}

// Whether a second process can take the lock now (LOCK_NB fails while it is held).
async function lockIsFree(ckpt: CkptRoot, name: string): Promise<boolean> {
  const r = await ckpt.run(["exec", name, "--", "/usr/bin/file-lock", "try", LOCKED]);
  assert.ok(r.exitCode === 0 || r.exitCode === 1, `file-lock try exited ${r.exitCode}: ${String(r.stderr)}`);
  return r.exitCode === 0;
}

async function running(ckpt: CkptRoot, name: string): Promise<PsEntry | undefined> {
  return (await ckpt.json<PsEntry[]>(["ps"])).find((e) => e.name === name && e.status === "running");
}

describe("dump options travel with the checkpoint", () => {
  before(() => removeStaleSandboxes());

  for (const runtime of ["runc", "crun"] as const) {
    test(`${runtime}: a lock held with flock stays exclusive after a plain restore without --file-locks`, async (t) => {
      if (!(await requireRealHost(t, runtime))) return;
      const sandbox = await Sandbox.create(t);
      const ckpt = new CkptRoot(sandbox);
      const bundle = await createBusyboxBundle(sandbox.path("bundle"), { args: lockHolder });
      await holdLock(ckpt, runtime, "holder", bundle);
      assert.equal(await lockIsFree(ckpt, "holder"), false, "before the checkpoint a second flock fails");

      await ckpt.ok(["checkpoint", "--file-locks", "holder"]);
      const restored = await ckpt.json<RestoreJson>(["restore", "holder"]);
      assert.ok(await running(ckpt, "holder"), "the holder runs again");
      assert.equal(await lockIsFree(ckpt, "holder"), false, "after the restore the lock is still held: a second flock fails");
      assert.deepEqual(restored.options?.map((o) => [o.name, o.from]), [["file-locks", "checkpoint"]], "file-locks applied, from the checkpoint");
    });
  }

  test("runc: restore --all restores the lock of a checkpoint --all --file-locks", async (t) => {
    if (!(await requireRealHost(t, "runc"))) return;
    const sandbox = await Sandbox.create(t);
    const ckpt = new CkptRoot(sandbox);
    const bundle = await createBusyboxBundle(sandbox.path("bundle"), { args: lockHolder });
    await holdLock(ckpt, "runc", "holder", bundle);
    await ckpt.ok(["checkpoint", "--all", "--file-locks", "--json"]);
    assert.equal((await ckpt.json<PsEntry[]>(["ps", "-a"])).find((e) => e.name === "holder")?.status, "checkpointed");
    await ckpt.ok(["restore", "--all", "--json"]);
    assert.ok(await running(ckpt, "holder"));
    assert.equal(await lockIsFree(ckpt, "holder"), false, "after restore --all the lock is still held");
  });

  for (const runtime of ["runc", "crun"] as const) {
    test(`${runtime}: migrate --file-locks: the lock is held on the target`, async (t) => {
      if (!(await requireRealHost(t, runtime))) return;
      const sandbox = await Sandbox.create(t);
      const source = new CkptRoot(sandbox, "host-a");
      const target = new CkptRoot(sandbox, "host-b");
      const bundle = await createBusyboxBundle(sandbox.path("bundle"), { args: lockHolder });
      await holdLock(source, runtime, "holder", bundle, ["--network", "none"]);
      const moved = await source.json<{ restored: RestoreJson }>(["migrate", "holder", "--file-locks", "--to", `${ckptBin} --root ${target.root}`]);
      assert.deepEqual(await source.json<PsEntry[]>(["ps", "-a"]), [], "nothing left at the source");
      assert.ok(await running(target, "holder"));
      assert.equal(await lockIsFree(target, "holder"), false, "on the target the lock is still held");
      assert.deepEqual(moved.restored.options?.map((o) => [o.name, o.from]), [["file-locks", "checkpoint"]], "the target applied file-locks, from the checkpoint");
    });
  }
});
