// `run --restart` on real runc and conmon: conmon's exit command decides, a detached
// waiter restarts on the back-off schedule, and nothing ckpt ended on purpose comes back.
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { before, describe, test } from "node:test";
import { createBusyboxBundle } from "../harness/bundle.ts";
import { CkptRoot } from "../harness/ckpt-root.ts";
import { requireRealHost } from "../harness/prerequisites.ts";
import { parseClockReports, readText, waitFor } from "../harness/reports.ts";
import { removeStaleSandboxes, Sandbox } from "../harness/sandbox.ts";
import { isAlive } from "../../src/proc/process.ts";

interface PsEntry {
  name: string;
  status: string;
  pid: number | null;
  restart: { policy: string; restarts: number; lastExitCode: number | null; nextRetryAt: string | null; note: string | null } | null;
}

const SECOND = 1_000_000_000n;

// A container whose every start appends one clock report (its real time) to /tmp/starts
// in its root filesystem, then runs `then`.
async function startsBundle(sandbox: Sandbox, then: string): Promise<{ bundle: string; starts: () => Promise<bigint[]> }> {
  const bundle = await createBusyboxBundle(sandbox.path("bundle"), { args: ["/bin/sh", "-c", `clock-reporter --once >>/tmp/starts 2>&1 </dev/null; ${then}`] });
  return { bundle, starts: async () => parseClockReports(await readText(join(bundle, "rootfs/tmp/starts"))).map((r) => r.realNs) };
}

async function psEntry(ckpt: CkptRoot, name: string): Promise<PsEntry> {
  const entry = (await ckpt.json<PsEntry[]>(["ps", "-a"])).find((e) => e.name === name);
  assert.ok(entry, `ps -a lists ${name}`);
  return entry;
}

async function waiterPid(ckpt: CkptRoot, name: string): Promise<number | null> {
  const state = JSON.parse(await readFile(join(ckpt.root, "containers", name, "restart.json"), "utf8")) as { waiterPid: number | null };
  return state.waiterPid;
}

describe("run --restart", () => {
  before(() => removeStaleSandboxes());

  test("on-failure:2: a container that keeps failing starts again after 1 s, then 2 s, then stays down and ps says why", async (t) => {
    if (!(await requireRealHost(t, "runc"))) return;
    const sandbox = await Sandbox.create(t);
    const ckpt = new CkptRoot(sandbox);
    const { bundle, starts } = await startsBundle(sandbox, "sleep 0.2; exit 3");
    const run = await ckpt.json<{ restart: { policy: string; initialMs: number } }>(["run", "-d", "--name", "crashy", "--restart", "on-failure:2", "--backoff-initial", "1s", bundle]);
    assert.deepEqual([run.restart.policy, run.restart.initialMs], ["on-failure:2", 1000]);

    // Between two starts, plain ps lists it as restarting, with the exit code and the retry time.
    const pending = await waitFor("ps showing a pending restart", async () => (await ckpt.json<PsEntry[]>(["ps"])).find((e) => e.status === "restarting"), 10_000);
    assert.equal(pending.restart?.lastExitCode, 3);
    assert.ok(pending.restart?.nextRetryAt !== null && Date.parse(pending.restart!.nextRetryAt) > Date.now() - 1000, `a retry time: ${pending.restart?.nextRetryAt}`);

    const final = await waitFor("the restarts to run out", async () => {
      const e = await psEntry(ckpt, "crashy");
      return e.status === "exited" && e.restart?.restarts === 2 && e.restart.note !== null ? e : undefined;
    }, 20_000);
    assert.match(final.restart!.note!, /failed 3 times in a row and on-failure:2 allows 2 restarts/);
    const times = await starts();
    assert.equal(times.length, 3, "started once by run and twice by the monitor");
    const gaps = [times[1]! - times[0]!, times[2]! - times[1]!];
    // Each gap is the run (0.2 s) plus the delay: 1 s, then twice that.
    assert.ok(gaps[0]! >= SECOND && gaps[0]! < 2n * SECOND, `first restart after ${gaps[0]} ns`);
    assert.ok(gaps[1]! >= 2n * SECOND && gaps[1]! < 3n * SECOND, `second restart after ${gaps[1]} ns`);
  });

  test("always: an exit 0 is restarted too; ckpt stop calls off the pending restart and ends its waiter", async (t) => {
    if (!(await requireRealHost(t, "runc"))) return;
    const sandbox = await Sandbox.create(t);
    const ckpt = new CkptRoot(sandbox);
    const { bundle, starts } = await startsBundle(sandbox, "sleep 0.2; exit 0");
    await ckpt.ok(["run", "-d", "--name", "done", "--restart", "always", "--backoff-initial", "3s", bundle]);
    const pending = await waitFor("a pending restart", async () => {
      const e = await psEntry(ckpt, "done");
      return e.status === "restarting" ? e : undefined;
    });
    assert.equal(pending.restart?.lastExitCode, 0);
    const waiter = await waiterPid(ckpt, "done");
    assert.ok(waiter !== null && isAlive(waiter), "a waiter process holds the pending restart");

    const stop = await ckpt.json<{ name: string; wasRunning: boolean }[]>(["stop", "done"]);
    assert.equal(stop[0]!.wasRunning, false);
    await waitFor("the waiter to end", async () => (isAlive(waiter) ? undefined : true));
    const stopped = await psEntry(ckpt, "done");
    assert.equal(stopped.status, "exited");
    assert.equal(stopped.restart?.nextRetryAt, null);
    assert.match(stopped.restart?.note ?? "", /called off \(stopped\)/);
    // Past the time the restart was due: still one start.
    await new Promise((r) => setTimeout(r, 3500));
    assert.equal((await starts()).length, 1);
    assert.equal((await psEntry(ckpt, "done")).status, "exited");
  });

  test("a checkpoint is no crash: a checkpointed container stays down; restored, then killed, it is restarted", async (t) => {
    if (!(await requireRealHost(t, "runc"))) return;
    const sandbox = await Sandbox.create(t);
    const ckpt = new CkptRoot(sandbox);
    const { bundle, starts } = await startsBundle(sandbox, "exec sleep 1000 </dev/null >/dev/null 2>&1");
    await ckpt.ok(["run", "-d", "--name", "svc", "--restart", "always", "--backoff-initial", "1s", bundle]);
    await waitFor("the first start", async () => ((await starts()).length === 1 ? true : undefined));
    await ckpt.ok(["checkpoint", "svc"]);
    await new Promise((r) => setTimeout(r, 1500));
    const dumped = await psEntry(ckpt, "svc");
    assert.deepEqual([dumped.status, dumped.restart?.restarts, dumped.restart?.nextRetryAt], ["checkpointed", 0, null]);
    assert.match(dumped.restart?.note ?? "", /on purpose \(checkpointed\)/);
    assert.equal((await starts()).length, 1);

    await ckpt.ok(["restore", "svc"]);
    const restored = await psEntry(ckpt, "svc");
    assert.equal(restored.status, "running");
    // A crash of the restored container: this test's own container, ended by its PID.
    process.kill(restored.pid!, "SIGKILL");
    const back = await waitFor("the restart", async () => {
      const e = await psEntry(ckpt, "svc");
      return e.status === "running" && e.restart?.restarts === 1 ? e : undefined;
    });
    assert.notEqual(back.pid, restored.pid);
    assert.equal(back.restart?.lastExitCode, 137, "killed by SIGKILL");
    assert.equal((await starts()).length, 2, "started afresh from its bundle");
  });
});
