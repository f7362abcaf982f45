// The node-reboot pair on real runc and CRIU: checkpoint --all writes a journal and stops
// gracefully what it cannot checkpoint; restore --all brings back what was checkpointed,
// retrying on the back-off schedule.
import assert from "node:assert/strict";
import { readFile, rename } from "node:fs/promises";
import { join } from "node:path";
import { before, describe, test } from "node:test";
import { execa } from "execa";
import { createBusyboxBundle } from "../harness/bundle.ts";
import { ckptBin } from "../harness/cli.ts";
import { CkptRoot } from "../harness/ckpt-root.ts";
import { requireRealHost } from "../harness/prerequisites.ts";
import { waitFor } from "../harness/reports.ts";
import { removeStaleSandboxes, Sandbox } from "../harness/sandbox.ts";

interface PsEntry {
  name: string;
  id: string;
  status: string;
}
interface Journal {
  entries: { name: string; state: string; signal: string | null; reason: string | null; attempts: number; checkpoint: string | null }[];
}

// A shell that exits on SIGTERM (PID 1 ignores signals it has no handler for).
const politeShell = ["/bin/sh", "-c", "trap 'exit 0' TERM; while :; do sleep 0.2; done"];

describe("checkpoint --all and restore --all", () => {
  before(() => removeStaleSandboxes());

  test("five containers: four checkpointed, one that cannot be is stopped with SIGTERM; restore --all brings the four back and reports the fifth", async (t) => {
    if (!(await requireRealHost(t, "runc"))) return;
    const sandbox = await Sandbox.create(t);
    const ckpt = new CkptRoot(sandbox);
    const bundle = await createBusyboxBundle(sandbox.path("bundle"), { args: politeShell });
    const names = ["c1", "c2", "c3", "c4", "c5"];
    for (const name of names) await ckpt.ok(["--runtime", "runc", "run", "-d", "--name", name, bundle]);
    // c5 gets a process outside PID 1's tree (runc exec -d): the pre-flight refuses it.
    const c5 = (await ckpt.json<PsEntry[]>(["ps"])).find((e) => e.name === "c5")!;
    // No pipes: the detached sleep would hold them open and execa would wait for it.
    await execa("runc", ["--root", join(ckpt.root, "runtime", "runc"), "exec", "-d", c5.id, "sleep", "1000"], { stdio: "ignore", timeout: 20_000 });

    const all = await ckpt.run(["checkpoint", "--all", "--parallel", "2", "-t", "5", "--json"]);
    assert.equal(all.exitCode, 0, String(all.stderr));
    const journal = JSON.parse(await readFile(join(ckpt.root, "recovery-journal.json"), "utf8")) as Journal;
    assert.deepEqual(JSON.parse(String(all.stdout)).entries, journal.entries, "--json prints the journal as written");
    assert.deepEqual(journal.entries.map((e) => [e.name, e.state]), [...names.slice(0, 4).map((n) => [n, "checkpointed"]), ["c5", "stopped"]]);
    const stopped = journal.entries.find((e) => e.name === "c5")!;
    assert.equal(stopped.signal, "SIGTERM", "stopped gracefully, within the grace period");
    assert.match(stopped.reason ?? "", /PID \d+.*sleep 1000/, "the reason names the process that blocked the checkpoint");
    assert.deepEqual((await ckpt.json<PsEntry[]>(["ps", "-a"])).map((e) => [e.name, e.status]), [...names.slice(0, 4).map((n) => [n, "checkpointed"]), ["c5", "exited"]]);

    const back = await ckpt.run(["restore", "--all", "--json"]);
    assert.equal(back.exitCode, 0, String(back.stderr));
    const after = JSON.parse(String(back.stdout)) as Journal;
    assert.deepEqual(after.entries.map((e) => [e.name, e.state, e.attempts]), [...names.slice(0, 4).map((n) => [n, "restored", 1]), ["c5", "stopped", 1]]);
    assert.deepEqual((await ckpt.json<PsEntry[]>(["ps", "-a"])).map((e) => [e.name, e.status]), [...names.slice(0, 4).map((n) => [n, "running"]), ["c5", "exited"]]);
  });

  test("a restore that fails is retried after the back-off delay, and succeeds once its cause is gone", async (t) => {
    if (!(await requireRealHost(t, "runc"))) return;
    const sandbox = await Sandbox.create(t);
    const ckpt = new CkptRoot(sandbox);
    const bundle = await createBusyboxBundle(sandbox.path("bundle"), { args: politeShell });
    await ckpt.ok(["--runtime", "runc", "run", "-d", "--name", "app", bundle]);
    await ckpt.ok(["checkpoint", "--all"]);
    // The root filesystem is away: the first attempt fails.
    await rename(join(bundle, "rootfs"), join(bundle, "rootfs.away"));
    const child = execa(ckptBin, ["--root", ckpt.root, "restore", "--all", "--backoff-initial", "2s", "--max-attempts", "3"], { env: { CKPT_NODE: process.execPath }, reject: false, buffer: true });
    let stderr = "";
    child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const failedAt = await waitFor("the first attempt to fail", async () => (/app: retrying: attempt 1 failed: .*root filesystem/.test(stderr) ? Date.now() : undefined));
    await rename(join(bundle, "rootfs.away"), join(bundle, "rootfs"));
    const result = await child;
    const doneAt = Date.now();
    assert.equal(result.exitCode, 0, stderr);
    assert.ok(doneAt - failedAt >= 1500, `the retry waited the 2 s back-off (${doneAt - failedAt} ms after the failure)`);
    const journal = JSON.parse(await readFile(join(ckpt.root, "recovery-journal.json"), "utf8")) as Journal;
    assert.deepEqual(journal.entries.map((e) => [e.name, e.state, e.attempts]), [["app", "restored", 2]]);
    assert.equal((await ckpt.json<PsEntry[]>(["ps"])).find((e) => e.name === "app")?.status, "running");
  });
});
