// Locks on real runc and CRIU: two commands on one container serialise or one of them
// exits 9 naming the other; never a lost or duplicated container. The races are made
// deterministic by stopping (SIGSTOP) the CRIU of the first command while it holds the
// lock, or by holding a lock with `ckpt stop` of a container that ignores SIGTERM.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { readFile, readdir } from "node:fs/promises";
import { join } from "node:path";
import { before, describe, test } from "node:test";
import { execa, type Result } from "execa";
import { createBusyboxBundle } from "../harness/bundle.ts";
import { ckptBin } from "../harness/cli.ts";
import { CkptRoot } from "../harness/ckpt-root.ts";
import { requireRealHost } from "../harness/prerequisites.ts";
import { waitFor } from "../harness/reports.ts";
import { stopCriu } from "../harness/criu-stop.ts";
import { removeStaleSandboxes, Sandbox } from "../harness/sandbox.ts";

interface PsEntry {
  name: string;
  id: string;
  status: string;
}
interface Journal {
  startedAtNs: string;
  entries: { name: string; state: string; signal: string | null; reason: string | null; checkpoint: string | null }[];
}

// PID 1 without a handler ignores SIGTERM: `ckpt stop -t 60` then holds the lock a minute.
const stubbornShell = ["/bin/sh", "-c", "while :; do sleep 0.2; done"];
// Big enough that a dump or restore takes a moment.
const memoryHolder = ["/usr/bin/memory-holder", "64"];

// `ckpt --root ROOT args...` in the background; bin/ckpt execs node, so its PID is ckpt's.
// Killed (SIGKILL, by PID) after the test if it is still running.
function startCkpt(sandbox: Sandbox, ckpt: CkptRoot, args: string[]): { pid: number; result: Promise<Result>; running: () => boolean } {
  const child = execa(ckptBin, ["--root", ckpt.root, ...args], { env: { CKPT_NODE: process.execPath }, reject: false });
  let running = true;
  const result = child.finally(() => (running = false)) as Promise<Result>;
  sandbox.defer(async () => {
    if (running) process.kill(child.pid!, "SIGKILL");
    await result;
  });
  return { pid: child.pid!, result, running: () => running };
}

// Waits until process `pid` holds the lock of container `name` (it wrote the holder file).
async function holdsLock(ckpt: CkptRoot, file: string, pid: number): Promise<void> {
  await waitFor(`PID ${pid} to hold ${file}`, async () => {
    const text = await readFile(join(ckpt.root, "locks", `${file}.holder`), "utf8").catch(() => "");
    return text.includes(`"pid":${pid},`) ? true : undefined;
  }, 30_000);
}

async function runtimeContainers(ckpt: CkptRoot): Promise<string[]> {
  const r = await execa("runc", ["--root", join(ckpt.root, "runtime", "runc"), "list", "-q"], { reject: false });
  return String(r.stdout).split("\n").filter((l) => l !== "");
}

describe("locks", () => {
  before(() => removeStaleSandboxes());

  test("a lock is named by its holder, and is free at once when the holder is killed with SIGKILL", async (t) => {
    if (!(await requireRealHost(t, "runc"))) return;
    const sandbox = await Sandbox.create(t);
    const ckpt = new CkptRoot(sandbox);
    const bundle = await createBusyboxBundle(sandbox.path("bundle"), { args: stubbornShell });
    await ckpt.ok(["--runtime", "runc", "run", "-d", "--name", "s", bundle]);
    // stop -t 60 of a container that ignores SIGTERM: it holds the lock for a minute.
    const stopper = startCkpt(sandbox, ckpt, ["stop", "-t", "60", "s"]);
    await holdsLock(ckpt, "container-s", stopper.pid);

    const started = Date.now();
    const busy = await ckpt.run(["--lock-timeout", "500ms", "exec", "s", "--", "true"]);
    assert.equal(busy.exitCode, 9, String(busy.stderr));
    assert.match(String(busy.stderr), new RegExp(`container "s" is busy: ckpt --root \\S+ stop -t 60 s \\(PID ${stopper.pid}\\) has held it for \\d+\\.\\d s \\(waited 0\\.\\d s\\)`));
    assert.match(String(busy.stderr), /--lock-timeout/, "the hint says how to wait longer");
    assert.ok(Date.now() - started < 5000, "it waited the half second asked, not the default");
    const json = await ckpt.run(["--lock-timeout", "0", "checkpoint", "s", "--json"]);
    assert.equal(json.exitCode, 9);
    assert.match(JSON.parse(String(json.stderr)).error.message, new RegExp(`PID ${stopper.pid}`));
    // ps names the command working on it.
    const shown = (await ckpt.json<(PsEntry & { busy: { pid: number; command: string } | null })[]>(["ps"])).find((e) => e.name === "s");
    assert.equal(shown?.busy?.pid, stopper.pid);
    assert.match(String((await ckpt.ok(["ps"])).stdout), new RegExp(`busy: ckpt --root \\S+ stop -t 60 s \\(PID ${stopper.pid}\\)`));
    // CKPT_LOCK_TIMEOUT is the same setting.
    const viaEnv = await ckpt.run(["rm", "-f", "s"], { env: { CKPT_NODE: process.execPath, CKPT_LOCK_TIMEOUT: "200ms" } });
    assert.equal(viaEnv.exitCode, 9, String(viaEnv.stderr));

    process.kill(stopper.pid, "SIGKILL");
    await stopper.result;
    const free = Date.now();
    const exec = await ckpt.run(["--lock-timeout", "30s", "exec", "s", "--", "echo", "after"]);
    assert.equal(exec.exitCode, 0, String(exec.stderr));
    assert.equal(String(exec.stdout).trim(), "after");
    assert.ok(Date.now() - free < 5000, `the lock of the killed command was free at once (${Date.now() - free} ms)`);
    const after = (await ckpt.json<(PsEntry & { busy: unknown })[]>(["ps"])).find((e) => e.name === "s");
    assert.equal(after?.status, "running", "SIGTERM was ignored and the killed stop sent nothing else");
    assert.equal(after?.busy, null, "a killed holder is not shown as working on it");
  });

  test("two restores of one name at once: exactly one restores it, the other exits 9; one container, one runtime container", async (t) => {
    if (!(await requireRealHost(t, "runc"))) return;
    const sandbox = await Sandbox.create(t);
    const ckpt = new CkptRoot(sandbox);
    const bundle = await createBusyboxBundle(sandbox.path("bundle"), { args: memoryHolder });
    await ckpt.ok(["--runtime", "runc", "run", "-d", "--name", "r", bundle]);
    await waitFor("the memory holder", async () => (String((await ckpt.ok(["logs", "r"])).stdout).includes("ready") ? true : undefined));
    await ckpt.ok(["checkpoint", "r"]);

    // Started together, waiting as long as needed: they serialise, and the second finds
    // the name running.
    const [a, b] = await Promise.all([ckpt.run(["--lock-timeout", "60s", "restore", "r"]), ckpt.run(["--lock-timeout", "60s", "restore", "r"])]);
    assert.deepEqual([a.exitCode, b.exitCode].sort(), [0, 9], `a: ${String(a.stderr)}\nb: ${String(b.stderr)}`);
    const loser = a.exitCode === 9 ? a : b;
    assert.match(String(loser.stderr), /container "r" is running/);
    assert.deepEqual((await ckpt.json<PsEntry[]>(["ps", "-a"])).map((e) => [e.name, e.status]), [["r", "running"]]);
    const id = (await ckpt.json<PsEntry[]>(["ps"]))[0]!.id;
    assert.deepEqual(await runtimeContainers(ckpt), [id], "one runtime container, the record's");

    // A restore that holds the name (its CRIU stopped) is named by the next one.
    await ckpt.ok(["checkpoint", "r"]);
    const first = startCkpt(sandbox, ckpt, ["restore", "r"]);
    const criu = await stopCriu(ckpt, "restore", sandbox);
    const second = await ckpt.run(["--lock-timeout", "1s", "restore", "r"]);
    assert.equal(second.exitCode, 9, String(second.stderr));
    assert.match(String(second.stderr), new RegExp(`container "r" is busy: ckpt --root \\S+ restore r \\(PID ${first.pid}\\)`));
    process.kill(criu, "SIGCONT");
    const done = await first.result;
    assert.equal(done.exitCode, 0, String(done.stderr));
    assert.deepEqual((await ckpt.json<PsEntry[]>(["ps", "-a"])).map((e) => [e.name, e.status]), [["r", "running"]]);
    assert.equal((await runtimeContainers(ckpt)).length, 1);
  });

  test("checkpoint and rm -f at once serialise: the checkpoint completes, then the container is removed; nothing is left frozen or running", async (t) => {
    if (!(await requireRealHost(t, "runc"))) return;
    const sandbox = await Sandbox.create(t);
    const ckpt = new CkptRoot(sandbox);
    const bundle = await createBusyboxBundle(sandbox.path("bundle"), { args: memoryHolder });
    await ckpt.ok(["--runtime", "runc", "run", "-d", "--name", "c", bundle]);
    await waitFor("the memory holder", async () => (String((await ckpt.ok(["logs", "c"])).stdout).includes("ready") ? true : undefined));
    const id = (await ckpt.json<PsEntry[]>(["ps"]))[0]!.id;

    const checkpoint = startCkpt(sandbox, ckpt, ["checkpoint", "c"]);
    const criu = await stopCriu(ckpt, "checkpoint", sandbox);
    const rm = startCkpt(sandbox, ckpt, ["--lock-timeout", "60s", "rm", "-f", "c"]);
    await new Promise((r) => setTimeout(r, 1500));
    assert.ok(rm.running(), "rm -f waits for the checkpoint instead of killing the container under CRIU");
    assert.ok(existsSync(join(ckpt.root, "containers", "c", "container.json")));
    process.kill(criu, "SIGCONT");
    const [c, r] = await Promise.all([checkpoint.result, rm.result]);
    assert.equal(c.exitCode, 0, String(c.stderr));
    assert.equal(r.exitCode, 0, String(r.stderr));
    assert.deepEqual(await ckpt.json<PsEntry[]>(["ps", "-a"]), [], "removed");
    assert.deepEqual(await runtimeContainers(ckpt), [], "no runtime container without a record");
    const cgroups = String((await execa("find", ["/sys/fs/cgroup", "-maxdepth", "3", "-name", `*${id}*`], { reject: false })).stdout).trim();
    assert.equal(cgroups, "", "no cgroup of the container is left (frozen or not)");
    const checkpoints = await ckpt.json<{ name: string }[]>(["checkpoints"]);
    assert.deepEqual(checkpoints.map((e) => e.name), ["c"], "the completed checkpoint stays in the store");
  });

  test("two checkpoint --all at once: the second exits 9 naming the first; nothing is signalled; the journal is the first's", async (t) => {
    if (!(await requireRealHost(t, "runc"))) return;
    const sandbox = await Sandbox.create(t);
    const ckpt = new CkptRoot(sandbox);
    const bundle = await createBusyboxBundle(sandbox.path("bundle"), { args: memoryHolder });
    for (const name of ["a1", "a2"]) await ckpt.ok(["--runtime", "runc", "run", "-d", "--name", name, bundle]);
    const first = startCkpt(sandbox, ckpt, ["checkpoint", "--all", "--parallel", "1"]);
    const criu = await stopCriu(ckpt, "checkpoint", sandbox);
    const journalPath = join(ckpt.root, "recovery-journal.json");
    const journalBefore = await readFile(journalPath, "utf8");
    const second = await ckpt.run(["--lock-timeout", "1s", "checkpoint", "--all", "--parallel", "2"]);
    assert.equal(second.exitCode, 9, String(second.stderr));
    assert.match(String(second.stderr), new RegExp(`the store \\(another --all operation\\) is busy: ckpt --root \\S+ checkpoint --all --parallel 1 \\(PID ${first.pid}\\)`));
    assert.equal(await readFile(journalPath, "utf8"), journalBefore, "the second did not touch the journal");
    // restore --all is kept off too.
    assert.equal((await ckpt.run(["--lock-timeout", "0", "restore", "--all"])).exitCode, 9);
    process.kill(criu, "SIGCONT");
    const done = await first.result;
    assert.equal(done.exitCode, 0, String(done.stderr));
    const journal = JSON.parse(await readFile(journalPath, "utf8")) as Journal;
    assert.deepEqual(journal.entries.map((e) => [e.name, e.state, e.signal]), [["a1", "checkpointed", null], ["a2", "checkpointed", null]]);
    assert.deepEqual((await ckpt.json<PsEntry[]>(["ps", "-a"])).map((e) => [e.name, e.status]), [["a1", "checkpointed"], ["a2", "checkpointed"]]);
  });

  test("checkpoint --all never signals a container another command holds: it is journalled busy with its holder, and restore --all brings it back from that command's checkpoint", async (t) => {
    if (!(await requireRealHost(t, "runc"))) return;
    const sandbox = await Sandbox.create(t);
    const ckpt = new CkptRoot(sandbox);
    const bundle = await createBusyboxBundle(sandbox.path("bundle"), { args: memoryHolder });
    for (const name of ["b1", "b2"]) await ckpt.ok(["--runtime", "runc", "run", "-d", "--name", name, bundle]);
    const single = startCkpt(sandbox, ckpt, ["checkpoint", "b2"]);
    const criu = await stopCriu(ckpt, "checkpoint", sandbox);
    const all = await ckpt.run(["checkpoint", "--all", "--json"]);
    assert.equal(all.exitCode, 5, `busy is not success: ${String(all.stderr)}`);
    const journal = JSON.parse(String(all.stdout)) as Journal;
    assert.deepEqual(journal.entries.map((e) => [e.name, e.state, e.signal]), [["b1", "checkpointed", null], ["b2", "busy", null]]);
    assert.match(journal.entries[1]!.reason ?? "", new RegExp(`ckpt --root \\S+ checkpoint b2 \\(PID ${single.pid}\\)`));
    process.kill(criu, "SIGCONT");
    const done = await single.result;
    assert.equal(done.exitCode, 0, `the held checkpoint finished undisturbed: ${String(done.stderr)}`);

    const back = await ckpt.run(["restore", "--all", "--json"]);
    assert.equal(back.exitCode, 0, String(back.stderr));
    const after = JSON.parse(String(back.stdout)) as Journal;
    assert.deepEqual(after.entries.map((e) => [e.name, e.state]), [["b1", "restored"], ["b2", "restored"]]);
    assert.deepEqual((await ckpt.json<PsEntry[]>(["ps"])).map((e) => [e.name, e.status]), [["b1", "running"], ["b2", "running"]]);
  });

  test("checkpoint and exec at once: the exec waits for the checkpoint and both succeed; a running exec does not hold the lock", async (t) => {
    if (!(await requireRealHost(t, "runc"))) return;
    const sandbox = await Sandbox.create(t);
    const ckpt = new CkptRoot(sandbox);
    const bundle = await createBusyboxBundle(sandbox.path("bundle"), { args: memoryHolder });
    await ckpt.ok(["--runtime", "runc", "run", "-d", "--name", "e", bundle]);
    const checkpoint = startCkpt(sandbox, ckpt, ["checkpoint", "-R", "e"]);
    const criu = await stopCriu(ckpt, "checkpoint", sandbox);
    const exec = startCkpt(sandbox, ckpt, ["--lock-timeout", "60s", "exec", "e", "--", "echo", "hello"]);
    await new Promise((r) => setTimeout(r, 1000));
    assert.ok(exec.running(), "exec waits: it never starts a process in a container CRIU is dumping");
    process.kill(criu, "SIGCONT");
    const [c, x] = await Promise.all([checkpoint.result, exec.result]);
    assert.equal(c.exitCode, 0, String(c.stderr));
    assert.equal(x.exitCode, 0, String(x.stderr));
    assert.equal(String(x.stdout).trim(), "hello");

    // A long exec holds the lock only while it starts.
    const id = (await ckpt.json<PsEntry[]>(["ps"]))[0]!.id;
    const long = startCkpt(sandbox, ckpt, ["exec", "e", "--", "sleep", "5"]);
    await waitFor("the exec'd sleep to run in the container", async () => {
      for (const pid of (await readdir("/proc")).filter((n) => /^\d+$/.test(n))) {
        const cmdline = await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "");
        if (cmdline === "sleep\x005\x00" && (await readFile(`/proc/${pid}/cgroup`, "utf8").catch(() => "")).includes(id)) return true;
      }
      return undefined;
    });
    const started = Date.now();
    const stop = await ckpt.run(["--lock-timeout", "0", "stop", "-t", "1", "e"]);
    assert.equal(stop.exitCode, 0, `stop took the lock at once while exec ran: ${String(stop.stderr)}`);
    assert.ok(Date.now() - started < 4000);
    await long.result;
    assert.deepEqual((await ckpt.json<PsEntry[]>(["ps", "-a"])).map((e) => [e.name, e.status]), [["e", "exited"]], "the container is there, stopped as asked");
  });
});
