// Damaged state on real runc: a container whose record is truncated stays visible (ps -a),
// is not silently skipped by checkpoint --all, and `rm -f` ends and removes it; a damaged
// or hostile recovery journal is exit 8; a --root that is a file is exit 2.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdir, readFile, readdir, truncate, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { before, describe, test } from "node:test";
import { createBusyboxBundle, politeShell } from "../harness/bundle.ts";
import { CkptRoot } from "../harness/ckpt-root.ts";
import { runCkpt } from "../harness/cli.ts";
import { requireRealHost } from "../harness/prerequisites.ts";
import { waitFor } from "../harness/reports.ts";
import { removeStaleSandboxes, Sandbox } from "../harness/sandbox.ts";
import { alive } from "../harness/processes.ts";

interface PsEntry {
  name: string;
  id: string | null;
  status: string;
  pid: number | null;
  damage?: string;
  runtimeStatus?: string | null;
  monitorPid?: number | null;
  hint?: string;
}
interface Journal {
  entries: { name: string; state: string; reason: string | null; checkpoint: string | null }[];
}



async function mountsUnder(dir: string): Promise<string[]> {
  return (await readFile("/proc/self/mountinfo", "utf8")).split("\n").map((l) => l.split(" ")[4] ?? "").filter((p) => p === dir || p.startsWith(`${dir}/`));
}

describe("damaged state", () => {
  before(() => removeStaleSandboxes());

  test("a running container whose container.json is truncated: ps shows it damaged and running, checkpoint --all fails naming it, rm -f ends its processes and leaves nothing", async (t) => {
    if (!(await requireRealHost(t, "runc"))) return;
    const sandbox = await Sandbox.create(t);
    const ckpt = new CkptRoot(sandbox);
    const bundle = await createBusyboxBundle(sandbox.path("bundle"), { args: politeShell });
    await ckpt.ok(["--runtime", "runc", "run", "-d", "--name", "hurt", "--network", "none", bundle]);
    await ckpt.ok(["--runtime", "runc", "run", "-d", "--name", "fine", bundle]);
    const before = (await ckpt.json<PsEntry[]>(["ps"])).find((e) => e.name === "hurt")!;
    assert.ok(before.pid !== null && before.id !== null);
    const containerDir = join(ckpt.root, "containers", "hurt");
    const monitorPid = Number((await readFile(join(containerDir, "monitor.pid"), "utf8")).trim());
    assert.ok(alive(monitorPid) && alive(before.pid));
    assert.deepEqual(await mountsUnder(join(containerDir, "netns")), [join(containerDir, "netns")], "its private network namespace is bound");
    await truncate(join(containerDir, "container.json"), 40);

    const all = await ckpt.json<PsEntry[]>(["ps", "-a"]);
    const hurt = all.find((e) => e.name === "hurt");
    assert.ok(hurt !== undefined, `ps -a lists it: ${JSON.stringify(all)}`);
    assert.equal(hurt.status, "damaged");
    assert.match(hurt.damage ?? "", /container\.json is not valid JSON/);
    assert.equal(hurt.runtimeStatus, "running");
    assert.equal(hurt.id, before.id, "found through the runtime's state");
    assert.equal(hurt.pid, before.pid);
    assert.equal(hurt.monitorPid, monitorPid);
    assert.equal(hurt.hint, "ckpt rm -f hurt");
    assert.deepEqual(all.map((e) => [e.name, e.status]), [["fine", "running"], ["hurt", "damaged"]]);
    assert.ok((await ckpt.json<PsEntry[]>(["ps"])).some((e) => e.name === "hurt"), "plain ps shows it too: it runs");
    const table = await ckpt.ok(["ps", "-a"]);
    assert.match(String(table.stdout), /hurt\s+runc\s+damaged \(running\)/);
    assert.match(String(table.stderr), /the record of "hurt" is damaged: .*remove it with: ckpt rm -f hurt/);

    const single = await ckpt.run(["checkpoint", "hurt"]);
    assert.equal(single.exitCode, 8, String(single.stderr));
    assert.match(String(single.stderr), /record of container "hurt" is damaged.*\n.*ckpt rm -f hurt/s);

    const every = await ckpt.run(["checkpoint", "--all", "--retain", "all"]);
    assert.notEqual(every.exitCode, 0, "checkpoint --all does not pass over it");
    assert.match(String(every.stderr), /hurt \(left\)/);
    const journal = JSON.parse(await readFile(join(ckpt.root, "recovery-journal.json"), "utf8")) as Journal;
    assert.deepEqual(journal.entries.map((e) => [e.name, e.state]), [["fine", "checkpointed"], ["hurt", "left"]]);
    assert.match(journal.entries[1]!.reason ?? "", /record is damaged.*ckpt rm -f hurt/);
    assert.ok(alive(before.pid), "it was left running");
    const back = await ckpt.run(["restore", "--all", "--json"]);
    assert.equal(back.exitCode, 0, String(back.stderr));
    assert.deepEqual((JSON.parse(String(back.stdout)) as Journal).entries.map((e) => [e.name, e.state]), [["fine", "restored"], ["hurt", "left"]], "restore --all says it was not checkpointed");

    const refused = await ckpt.run(["rm", "hurt"]);
    assert.equal(refused.exitCode, 8, String(refused.stderr));
    assert.ok(existsSync(containerDir));
    await ckpt.ok(["rm", "-f", "hurt"]);
    await waitFor("the container's PID 1 and its monitor to end", async () => (!alive(before.pid!) && !alive(monitorPid) ? true : undefined), 10_000);
    assert.ok(!existsSync(containerDir), "its directory is gone");
    assert.ok(!existsSync(join(ckpt.root, "runtime", "runc", before.id)), "runc's state of it is gone");
    assert.deepEqual(await mountsUnder(containerDir), [], "no mount is left (its network namespace was unbound)");
    assert.deepEqual((await ckpt.json<PsEntry[]>(["ps", "-a"])).map((e) => e.name), ["fine"]);
  });

  test("a container directory without its record is listed as damaged and rm -f removes it", async (t) => {
    const sandbox = await Sandbox.create(t);
    const ckpt = new CkptRoot(sandbox);
    await ckpt.ok(["ps", "-a"]);
    await mkdir(join(ckpt.root, "containers", "ghost"), { recursive: true });
    const listed = await ckpt.json<PsEntry[]>(["ps", "-a"]);
    assert.deepEqual(listed.map((e) => [e.name, e.status, e.runtimeStatus, e.pid]), [["ghost", "damaged", null, null]]);
    assert.match(listed[0]!.damage ?? "", /container\.json is missing/);
    assert.deepEqual(await ckpt.json<PsEntry[]>(["ps"]), [], "nothing of it runs: plain ps leaves it out");
    const removed = await ckpt.json<{ removed: string[] }>(["rm", "-f", "ghost"]);
    assert.deepEqual(removed.removed, ["ghost"]);
    assert.deepEqual(await readdir(join(ckpt.root, "containers")), []);
  });

  test("a damaged recovery journal is exit 8 naming its path; an entry ../../x or a checkpoint outside the store is refused", async (t) => {
    const sandbox = await Sandbox.create(t);
    const ckpt = new CkptRoot(sandbox);
    await ckpt.ok(["ps"]);
    await mkdir(ckpt.root, { recursive: true });
    const path = join(ckpt.root, "recovery-journal.json");
    await writeFile(path, '{"formatVersion": 1, "bootId": "x", "entr');
    const cut = await ckpt.run(["restore", "--all"]);
    assert.equal(cut.exitCode, 8, String(cut.stderr));
    assert.ok(String(cut.stderr).includes(`the recovery journal ${path} is damaged`), String(cut.stderr));
    assert.match(String(cut.stderr), /hint: .*mv /);

    const entry = (name: string, checkpoint: string) => ({ name, state: "checkpointed", checkpoint, signal: null, reason: null, attempts: 1, updatedAtNs: "1" });
    const journal = (e: object) => JSON.stringify({ formatVersion: 1, bootId: "x", startedAtNs: "1", entries: [e] });
    await writeFile(path, journal(entry("../../x", join(ckpt.root, "checkpoints", "x", "20261122T080438.949067023Z"))));
    const traversal = await ckpt.run(["restore", "--all"]);
    assert.equal(traversal.exitCode, 8, String(traversal.stderr));
    assert.match(String(traversal.stderr), /entries\.0\.name: not a container name/);

    await writeFile(path, journal(entry("x", join(sandbox.dir, "elsewhere", "checkpoints", "x", "20261122T080438.949067023Z"))));
    const outside = await ckpt.run(["restore", "--all"]);
    assert.equal(outside.exitCode, 8, String(outside.stderr));
    assert.match(String(outside.stderr), /is not a checkpoint of "x" in this store/);
    assert.ok(!existsSync(join(ckpt.root, "containers", "x")), "nothing was restored");
  });

  test("a --root that is a file is exit 2 for every command that opens the store", async (t) => {
    const sandbox = await Sandbox.create(t);
    const file = sandbox.path("not-a-dir");
    await writeFile(file, "");
    for (const args of [["ps", "-a"], ["checkpoints"], ["checkpoints", "prune"], ["rm", "-f", "x"], ["checkpoint", "x"], ["restore", "x"], ["checkpoint", "--all"], ["restore", "--all"], ["logs", "x"]]) {
      const r = await runCkpt(["--root", file, ...args]);
      assert.equal(r.exitCode, 2, `${args.join(" ")}: ${String(r.stderr)}`);
      assert.match(String(r.stderr), /--root .*not-a-dir is not a directory/, args.join(" "));
    }
    const below = await runCkpt(["--root", join(file, "below"), "ps"]);
    assert.equal(below.exitCode, 2, String(below.stderr));
  });
});
