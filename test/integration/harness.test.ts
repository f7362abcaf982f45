// The harness keeps the machine clean: what a test makes goes away after it, even when
// the test fails, and leftovers of a killed test process are recognised and removed.
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { execa } from "execa";
import { createBusyboxBundle } from "../harness/bundle.ts";
import { OciRuntime, testContainerName } from "../harness/oci-runtime.ts";
import { requireRealHost } from "../harness/prerequisites.ts";
import { removeStaleSandboxes, Sandbox } from "../harness/sandbox.ts";
import { runCkpt } from "../harness/cli.ts";
import { waitFor } from "../harness/reports.ts";

test("a sandbox deletes its running container and its directory after a test that failed", async (t) => {
  if (!(await requireRealHost(t, "runc"))) return;
  const runtime = new OciRuntime("runc");
  const afterHooks: (() => unknown)[] = [];
  const sandbox = await Sandbox.create({ after: (fn: () => unknown) => void afterHooks.push(fn) } as never);
  const id = testContainerName();
  sandbox.defer(() => runtime.forceDelete(id));
  await runtime.runDetached(id, await createBusyboxBundle(sandbox.path("bundle"), { args: ["/bin/sleep", "1000"] }));
  const pid = (await runtime.state(id))!.pid;
  const failingBody = async () => {
    throw new Error("the test body failed");
  };
  await assert.rejects(failingBody);
  for (const hook of afterHooks) await hook(); // what node:test does after any test
  assert.equal(await runtime.state(id), null, "container deleted");
  assert.equal(isRunning(pid), false, "its process has ended");
  assert.equal(existsSync(sandbox.dir), false, "sandbox directory removed");
});

test("leftovers of a killed test process are removed by the next run, and only those", async (t) => {
  if (!(await requireRealHost(t, "runc"))) return;
  const runtime = new OciRuntime("runc");
  const sandbox = await Sandbox.create(t);
  // A process that has exited stands in for a killed test run.
  const exited = execa("true");
  await exited;
  const deadPid = exited.pid!;
  const staleId = `ckpt-test-${deadPid}-1`;
  const liveId = testContainerName();
  sandbox.defer(() => runtime.forceDelete(staleId));
  sandbox.defer(() => runtime.forceDelete(liveId));
  const bundle = await createBusyboxBundle(sandbox.path("bundle"), { args: ["/bin/sleep", "1000"] });
  await runtime.runDetached(staleId, bundle);
  await runtime.runDetached(liveId, bundle);
  const staleDir = join(tmpdir(), `ckpt-test-${deadPid}-leftover`);
  mkdirSync(staleDir, { recursive: true });

  assert.deepEqual(await runtime.sweepStale(), [staleId]);
  assert.equal(await runtime.state(staleId), null);
  assert.equal((await runtime.state(liveId))?.status, "running", "a live run's container is left alone");
  assert.ok((await removeStaleSandboxes()).includes(staleDir));
  assert.equal(existsSync(staleDir), false);
  assert.equal(existsSync(sandbox.dir), true, "a live run's sandbox is left alone");
});

test("a ckpt container a killed test process left running (its monitor, its process, its cgroups) is ended by the next run", async (t) => {
  if (!(await requireRealHost(t, "runc"))) return;
  const sandbox = await Sandbox.create(t);
  const exited = execa("true");
  await exited;
  const staleDir = join(tmpdir(), `ckpt-test-${exited.pid!}-killed`);
  mkdirSync(staleDir, { recursive: true });
  const bundle = await createBusyboxBundle(sandbox.path("bundle"), { args: ["/bin/sleep", "1000"] });
  const root = join(staleDir, "ckpt-root");
  const ran = JSON.parse(String((await runCkpt(["--root", root, "--runtime", "runc", "run", "-d", "--json", "--name", "orphan", bundle])).stdout)) as { id: string; pid: number };
  const monitor = Number(readFileSync(join(root, "containers", "orphan", "monitor.pid"), "utf8"));
  assert.ok(isRunning(ran.pid) && isRunning(monitor));

  assert.ok((await removeStaleSandboxes()).includes(staleDir));
  await waitFor("the orphan's processes to end", async () => (!isRunning(ran.pid) && !isRunning(monitor) ? true : undefined), 5000);
  assert.equal(existsSync(join("/sys/fs/cgroup/pids", ran.id)) || existsSync(join("/sys/fs/cgroup", ran.id, "cgroup.procs")), false, "its cgroups are gone");
  assert.equal(existsSync(staleDir), false);
});

// Gone, or a zombie: detached containers are orphans of the host's init, which on some
// machines (this project's among them) does not reap them promptly.
function isRunning(pid: number): boolean {
  try {
    return !/^State:\s+[ZX]/m.test(readFileSync(`/proc/${pid}/status`, "utf8"));
  } catch {
    return false;
  }
}
