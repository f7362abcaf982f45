// The node-reboot pair on real runc and CRIU: checkpoint --all writes a journal and stops
// gracefully what it cannot checkpoint; restore --all brings back what was checkpointed,
// retrying on the back-off schedule.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { readFile, readdir, rename } from "node:fs/promises";
import { join } from "node:path";
import { before, describe, test } from "node:test";
import { execa } from "execa";
import { createBusyboxBundle, politeShell } from "../harness/bundle.ts";
import { ckptBin } from "../harness/cli.ts";
import { CkptRoot } from "../harness/ckpt-root.ts";
import { requireRealHost } from "../harness/prerequisites.ts";
import { waitFor } from "../harness/reports.ts";
import { stopCriu } from "../harness/criu-stop.ts";
import { removeStaleSandboxes, Sandbox } from "../harness/sandbox.ts";
import { combinationName } from "../harness/matrix.ts";

interface PsEntry {
  name: string;
  id: string;
  status: string;
}
interface Journal {
  entries: { name: string; state: string; signal: string | null; reason: string | null; attempts: number; checkpoint: string | null }[];
}

// A shell that exits on SIGTERM (PID 1 ignores signals it has no handler for).

describe(`checkpoint --all and restore --all [${combinationName()}]`, () => {
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
    const events = String(all.stderr).split("\n").filter((l) => l !== "").map((l) => JSON.parse(l) as { event: string; name: string; state: string });
    assert.deepEqual(events.map((e) => `${e.name}:${e.state}`).sort(), [...names.slice(0, 4).map((n) => `${n}:checkpointed`), "c5:stopped"], "with --json, one NDJSON event a container on stderr");
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

  test("kill -9 of ckpt in the middle of checkpoint --all: restore --all brings back everything checkpointed, reports the rest, leaves nothing frozen", async (t) => {
    if (!(await requireRealHost(t, "runc"))) return;
    const sandbox = await Sandbox.create(t);
    const ckpt = new CkptRoot(sandbox);
    // Big enough that a dump takes a moment: the kill lands while ckpt is busy.
    const bundle = await createBusyboxBundle(sandbox.path("bundle"), { args: ["/usr/bin/memory-holder", "96"] });
    const names = ["k1", "k2", "k3", "k4"];
    for (const name of names) await ckpt.ok(["--runtime", "runc", "run", "-d", "--name", name, bundle]);
    await waitFor("the memory holders", async () => {
      const logs = await Promise.all(names.map(async (n) => String((await ckpt.ok(["logs", n])).stdout)));
      return logs.every((l) => l.includes("ready mib=96")) ? true : undefined;
    });
    const journalPath = join(ckpt.root, "recovery-journal.json");
    const child = execa(ckptBin, ["--root", ckpt.root, "checkpoint", "--all", "--parallel", "1"], { env: { CKPT_NODE: process.execPath }, reject: false });
    const firstDone = await waitFor("the first container to be checkpointed", async () => {
      const text = await readFile(journalPath, "utf8").catch(() => "");
      return text.includes('"checkpointed"') ? true : undefined;
    }, 60_000);
    assert.ok(firstDone);
    // bin/ckpt execs node, so the child's PID is ckpt's own.
    process.kill(child.pid!, "SIGKILL");
    await child;
    const before = JSON.parse(await readFile(journalPath, "utf8")) as Journal;
    const checkpointed = before.entries.filter((e) => e.state === "checkpointed").map((e) => e.name);
    assert.ok(checkpointed.length >= 1 && checkpointed.length < names.length, `the kill came mid-way: ${before.entries.map((e) => `${e.name}:${e.state}`).join(" ")}`);
    // Let a dump CRIU was still doing finish on its own.
    await new Promise((resolve) => setTimeout(resolve, 2000));

    const back = await ckpt.run(["restore", "--all", "--json"]);
    const after = JSON.parse(String(back.stdout)) as Journal;
    t.diagnostic(`before restore --all: ${before.entries.map((e) => `${e.name}:${e.state}`).join(" ")}; after: ${after.entries.map((e) => `${e.name}:${e.state}`).join(" ")}`);
    for (const name of checkpointed) assert.equal(after.entries.find((e) => e.name === name)?.state, "restored", `${name} was checkpointed and comes back`);
    for (const e of after.entries.filter((x) => !checkpointed.includes(x.name))) {
      assert.ok(["restored", "left", "lost"].includes(e.state), `${e.name} is accounted for: ${e.state}`);
      assert.ok(e.reason !== null && e.reason.length > 0, `${e.name} is reported with a reason`);
    }
    const ps = await ckpt.json<PsEntry[]>(["ps", "-a"]);
    assert.equal(ps.some((e) => e.status === "paused"), false, `nothing is left frozen: ${ps.map((e) => `${e.name}:${e.status}`).join(" ")}`);
    for (const e of after.entries.filter((x) => x.state === "restored" || x.state === "left")) assert.equal(ps.find((p) => p.name === e.name)?.status, "running", `${e.name} runs`);
    assert.equal(back.exitCode, after.entries.some((e) => e.state === "failed") ? 6 : 0, String(back.stderr));
  });

  test("a dump that stops making progress is ended after --progress-timeout, and the container is stopped gracefully instead; nothing is left frozen", async (t) => {
    if (!(await requireRealHost(t, "runc"))) return;
    const sandbox = await Sandbox.create(t);
    const ckpt = new CkptRoot(sandbox);
    const bundle = await createBusyboxBundle(sandbox.path("bundle"), { args: ["/usr/bin/memory-holder", "512"] });
    await ckpt.ok(["--runtime", "runc", "run", "-d", "--name", "stuck", bundle]);
    await waitFor("the memory holder", async () => (String((await ckpt.ok(["logs", "stuck"])).stdout).includes("ready mib=512") ? true : undefined));
    const child = execa(ckptBin, ["--root", ckpt.root, "checkpoint", "--all", "--progress-timeout", "2s", "-t", "1s", "--json"], { env: { CKPT_NODE: process.execPath }, reject: false });
    // Freeze CRIU itself mid-dump: its log and images stop growing.
    const stopped = await stopCriu(ckpt, "checkpoint");
    const result = await child;
    assert.equal(result.exitCode, 0, String(result.stderr));
    const journal = JSON.parse(String(result.stdout)) as Journal;
    const entry = journal.entries.find((e) => e.name === "stuck")!;
    assert.equal(entry.state, "stopped");
    assert.match(entry.reason ?? "", /the dump made no progress for [\d.]+ s .*ckpt ended CRIU/);
    // Gone, or a zombie waiting for an init that reaps (this sandbox's PID 1 does not).
    const after = await readFile(`/proc/${stopped}/stat`, "utf8").catch(() => null);
    assert.ok(after === null || after.split(") ")[1]?.startsWith("Z"), `the stalled CRIU is gone: ${after}`);
    assert.equal((await ckpt.json<PsEntry[]>(["ps", "-a"])).find((e) => e.name === "stuck")?.status, "exited", "stopped, not left frozen");
  });

  test("a single export whose dump stops making progress is ended after --progress-timeout: the container runs on, the dump log is kept where the hint says", async (t) => {
    if (!(await requireRealHost(t, "runc"))) return;
    const sandbox = await Sandbox.create(t);
    const ckpt = new CkptRoot(sandbox);
    const bundle = await createBusyboxBundle(sandbox.path("bundle"), { args: politeShell });
    await ckpt.ok(["--runtime", "runc", "run", "-d", "--name", "stall", bundle]);
    const archive = sandbox.path("stall.tar.zst");
    const child = execa(ckptBin, ["--root", ckpt.root, "checkpoint", "--export", archive, "--progress-timeout", "2s", "stall"], { env: { CKPT_NODE: process.execPath }, reject: false });
    const stopped = await stopCriu(ckpt, "checkpoint");
    const result = await child;
    assert.equal(result.exitCode, 6, String(result.stderr));
    assert.match(String(result.stderr), /the dump made no progress for [\d.]+ s .*ckpt ended CRIU.*"stall"; the container is running( \(ckpt thawed it\))?$/m);
    const logPath = /the full log is kept in (\S+)/.exec(String(result.stderr))?.[1];
    assert.ok(logPath !== undefined && logPath.startsWith(join(ckpt.root, "checkpoints", "stall")), `the log is kept in the store, not in the export's staging: ${logPath}`);
    assert.match(await readFile(logPath, "utf8"), /Dumping|freez/i, "CRIU's own log");
    const after = await readFile(`/proc/${stopped}/stat`, "utf8").catch(() => null);
    assert.ok(after === null || after.split(") ")[1]?.startsWith("Z"), `the stalled CRIU is gone: ${after}`);
    assert.equal((await ckpt.json<PsEntry[]>(["ps"])).find((e) => e.name === "stall")?.status, "running");
    assert.equal(existsSync(archive), false, "no archive, not even a partial one");
    assert.deepEqual((await readdir("/dev/shm")).filter((n) => n.startsWith("ckpt-export-")), [], "the staging directory is gone");
  });

  test("a restore attempt that stops making progress is ended after --progress-timeout; the checkpoint stays and restores next time", async (t) => {
    if (!(await requireRealHost(t, "runc"))) return;
    const sandbox = await Sandbox.create(t);
    const ckpt = new CkptRoot(sandbox);
    const bundle = await createBusyboxBundle(sandbox.path("bundle"), { args: ["/usr/bin/memory-holder", "512"] });
    await ckpt.ok(["--runtime", "runc", "run", "-d", "--name", "slow", bundle]);
    await waitFor("the memory holder", async () => (String((await ckpt.ok(["logs", "slow"])).stdout).includes("ready mib=512") ? true : undefined));
    await ckpt.ok(["checkpoint", "--all"]);
    const child = execa(ckptBin, ["--root", ckpt.root, "restore", "--all", "--progress-timeout", "2s", "--max-attempts", "1", "--json"], { env: { CKPT_NODE: process.execPath }, reject: false });
    const stopped = await stopCriu(ckpt, "restore");
    const result = await child;
    assert.equal(result.exitCode, 6, String(result.stderr));
    const entry = (JSON.parse(String(result.stdout)) as Journal).entries.find((e) => e.name === "slow")!;
    assert.equal(entry.state, "failed");
    assert.match(entry.reason ?? "", /the restore made no progress for [\d.]+ s .*ckpt ended CRIU/);
    const after = await readFile(`/proc/${stopped}/stat`, "utf8").catch(() => null);
    assert.ok(after === null || after.split(") ")[1]?.startsWith("Z"), `the stalled CRIU is gone: ${after}`);
    assert.equal((await ckpt.json<PsEntry[]>(["ps", "-a"])).find((e) => e.name === "slow")?.status, "checkpointed", "nothing half-restored is left");
    // The next restore --all retries the failed entry, and it comes back.
    const again = await ckpt.run(["restore", "--all", "--json"]);
    assert.equal(again.exitCode, 0, String(again.stderr));
    assert.deepEqual((JSON.parse(String(again.stdout)) as Journal).entries.map((e) => [e.name, e.state, e.attempts]), [["slow", "restored", 2]]);
    assert.equal((await ckpt.json<PsEntry[]>(["ps"])).find((e) => e.name === "slow")?.status, "running");
  });
});
