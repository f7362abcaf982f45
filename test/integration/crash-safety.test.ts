// kill -9 of ckpt at each phase of checkpoint, export, restore and import, each followed
// by the next ordinary command: no container lost, no state rolled back (the counter the
// container keeps in memory, and writes to a file of its root filesystem, never goes
// back), no staging, temporary file or process left, and what `ps -a` and `recover` say
// checked. Real runc and CRIU. A phase is reached either by watching (CRIU writing pages,
// the restore's CRIU phase, unpacking) or by ckpt's test-only fault point
// (CKPT_FAULT_PAUSE=operation:phase stops ckpt there until it is killed).
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { before, describe, test } from "node:test";
import { execa } from "execa";
import { ckptBin } from "../harness/cli.ts";
import { CkptRoot } from "../harness/ckpt-root.ts";
import { requireRealHost } from "../harness/prerequisites.ts";
import { waitFor } from "../harness/reports.ts";
import { backgroundCkpt, countingContainer, killCkptAt } from "../harness/crash.ts";
import { removeStaleSandboxes } from "../harness/sandbox.ts";
import { watchStaging } from "../harness/staging.ts";
import { stagingRootTag } from "../../src/archive/staging.ts";

interface PsEntry {
  name: string;
  status: string;
  pid: number | null;
  operation: { kind: string; phase: string; interrupted: boolean } | null;
}

async function ps(ckpt: CkptRoot): Promise<PsEntry | undefined> {
  return (await ckpt.json<PsEntry[]>(["ps", "-a"])).find((e) => e.name === "c");
}

// The counter goes on from at least `atLeast`: the container's memory was not rolled back.
async function goesOnFrom(count: () => Promise<number>, atLeast: number): Promise<void> {
  const later = await waitFor("the counter to go on", async () => {
    const n = await count();
    return n > atLeast ? n : undefined;
  }, 20_000);
  assert.ok(later > atLeast, `the counter went on past ${atLeast} (now ${later}): nothing was rolled back`);
}

// Mounts under the ckpt root other than the running containers' network namespaces (a dead
// CRIU's bind of the root filesystem, its cgroup yard).
async function strayMounts(root: string): Promise<string[]> {
  const lines = (await readFile("/proc/self/mountinfo", "utf8")).split("\n");
  return lines.map((l) => l.split(" ")[4] ?? "").filter((m) => m.startsWith(`${root}/`) && !m.endsWith("/netns"));
}

describe("kill -9 of ckpt at each phase", () => {
  before(() => removeStaleSandboxes());

  test("checkpoint killed while CRIU writes pages: the dump CRIU finished becomes the newest checkpoint; restore says so and the counter does not go back", async (t) => {
    if (!(await requireRealHost(t, "runc"))) return;
    const { ckpt, count } = await countingContainer(t, 300);
    const child = backgroundCkpt(ckpt, ["checkpoint", "c"]);
    const partial = await waitFor("CRIU to write pages", async () => {
      const dirs = await readdir(join(ckpt.root, "checkpoints", "c")).catch(() => [] as string[]);
      const p = dirs.find((d) => d.endsWith(".partial"));
      if (p === undefined) return undefined;
      const images = await readdir(join(ckpt.root, "checkpoints", "c", p, "checkpoint")).catch(() => [] as string[]);
      return images.some((f) => f.startsWith("pages-")) ? p : undefined;
    }, 30_000);
    process.kill(child.pid!, "SIGKILL");
    await child;
    const atKill = await count();
    assert.equal((await ps(ckpt))?.status, "interrupted", "ps -a shows the interrupted checkpoint");

    const restored = await ckpt.run(["restore", "c"]);
    assert.equal(restored.exitCode, 0, String(restored.stderr));
    assert.match(String(restored.stderr), /recovered an interrupted checkpoint of "c" \(killed at its dumping phase\): CRIU had finished the dump; the checkpoint \S+ was complete and is now the newest/);
    assert.match(String(restored.stdout), new RegExp(partial.replace(".partial", "").replace(/\./g, "\\.")), "restored from the interrupted checkpoint, not an older one");
    await goesOnFrom(count, atKill);
    assert.deepEqual((await readdir(join(ckpt.root, "checkpoints", "c"))).filter((d) => d.endsWith(".partial")), [], "no partial directory is left");
    assert.equal(existsSync(join(ckpt.root, "containers", "c", "operation.json")), false);
  });

  test("checkpoint killed after CRIU finished, before the rename: recover makes it the newest checkpoint and says so", async (t) => {
    if (!(await requireRealHost(t, "runc"))) return;
    const { ckpt, sandbox, count } = await countingContainer(t, 32);
    await killCkptAt(ckpt, sandbox, ["checkpoint", "c"], "checkpoint:dumped");
    const atKill = await count();
    const shown = await ps(ckpt);
    assert.deepEqual([shown?.status, shown?.operation?.kind, shown?.operation?.phase], ["interrupted", "checkpoint", "dumping"]);
    const recovered = await ckpt.json<{ recovered: { name: string; outcome: string; said: string }[] }>(["recover"]);
    assert.deepEqual(recovered.recovered.map((r) => [r.name, r.outcome]), [["c", "record-dump"]]);
    assert.equal((await ps(ckpt))?.status, "checkpointed");
    const stored = await readdir(join(ckpt.root, "checkpoints", "c"));
    assert.equal(stored.length, 1, `one checkpoint, the interrupted one, complete: ${stored.join(" ")}`);
    assert.ok(existsSync(join(ckpt.root, "checkpoints", "c", stored[0]!, "manifest.json")));
    await ckpt.ok(["restore", "c"]);
    await goesOnFrom(count, atKill);
  });

  test("checkpoint killed before the freeze: the container runs on, nothing is checkpointed, nothing is left", async (t) => {
    if (!(await requireRealHost(t, "runc"))) return;
    const { ckpt, sandbox, count } = await countingContainer(t, 16);
    await killCkptAt(ckpt, sandbox, ["checkpoint", "c"], "checkpoint:dumping");
    const recovered = await ckpt.run(["recover", "c"]);
    assert.match(String(recovered.stdout), /the dump was not complete; "c" runs on, nothing was checkpointed/);
    assert.equal((await ps(ckpt))?.status, "running");
    await goesOnFrom(count, await count());
    assert.deepEqual(await readdir(join(ckpt.root, "checkpoints", "c")).catch(() => []), [], "no partial or failed directory is left");
  });

  test("export killed while it writes the archive: the container is not lost: its checkpoint moves from volatile staging to the store; no staging, no temporary archive", async (t) => {
    if (!(await requireRealHost(t, "runc"))) return;
    const { ckpt, sandbox, count } = await countingContainer(t, 32);
    const leftovers = await watchStaging(ckpt.root);
    const archive = sandbox.path("c.tar.zst");
    await killCkptAt(ckpt, sandbox, ["checkpoint", "--export", archive, "c"], "export:archiving");
    const atKill = await count();
    assert.deepEqual([(await ps(ckpt))?.status, (await ps(ckpt))?.operation?.kind], ["interrupted", "export"]);
    // Recovering another container sweeps dead staging, but never this one: it holds c's only dump.
    const staged = async () => (await readdir("/dev/shm")).filter((n) => n.startsWith(`ckpt-export-${stagingRootTag(ckpt.root)}-`));
    assert.equal((await staged()).length, 1);
    await ckpt.ok(["recover", "other"]);
    assert.equal((await staged()).length, 1, "recover of another name left c's staged dump alone");

    const restored = await ckpt.run(["restore", "c"]);
    assert.equal(restored.exitCode, 0, String(restored.stderr));
    assert.match(String(restored.stderr), /recovered an interrupted export of "c" .*its checkpoint is kept in the store as \S+; the unfinished archive .* was not written/);
    await goesOnFrom(count, atKill);
    assert.deepEqual(await leftovers(), [], "no staging is left");
    assert.deepEqual((await readdir(sandbox.dir)).filter((n) => n.includes("c.tar.zst")), [], "no archive and no temporary file at the destination");
    assert.deepEqual(await strayMounts(ckpt.root), [], "no mount is left");
  });

  test("restore killed during its CRIU phase: the next restore recovers (checkpoint kept) and restores; the counter does not go back; no process left", async (t) => {
    if (!(await requireRealHost(t, "runc"))) return;
    const { ckpt, count } = await countingContainer(t, 300);
    await ckpt.ok(["checkpoint", "c"]);
    const atCheckpoint = await count();
    const child = backgroundCkpt(ckpt, ["restore", "c"]);
    await waitFor("the restore's CRIU phase", async () => ((await readFile(join(ckpt.root, "containers", "c", "operation.json"), "utf8").catch(() => "")).includes('"restoring"') ? true : undefined), 30_000);
    process.kill(child.pid!, "SIGKILL");
    await child;
    const restored = await ckpt.run(["restore", "c"]);
    assert.equal(restored.exitCode, 0, String(restored.stderr));
    assert.match(String(restored.stderr), /recovered an interrupted restore of "c"/);
    await goesOnFrom(count, atCheckpoint);
    const entry = await ps(ckpt);
    assert.equal(entry?.status, "running");
    const runc = await execa("runc", ["--root", join(ckpt.root, "runtime", "runc"), "list", "-q"]);
    assert.equal(runc.stdout.trim().split("\n").filter(Boolean).length, 1, "one runtime container");
    assert.equal((await readFile(join(ckpt.root, "containers", "c", "criu.conf"), "utf8")).trim(), "", "criu.conf does not outlive its restore");
    assert.deepEqual(await strayMounts(ckpt.root), [], "no mount of the killed restore is left");
  });

  test("restore killed after CRIU finished: recover adopts the running container under its monitor; exec and checkpoint work after", async (t) => {
    if (!(await requireRealHost(t, "runc"))) return;
    const { ckpt, sandbox, count } = await countingContainer(t, 16);
    await ckpt.ok(["checkpoint", "c"]);
    await killCkptAt(ckpt, sandbox, ["restore", "c"], "restore:restored");
    const atKill = await count();
    assert.equal((await ps(ckpt))?.status, "interrupted");
    const recovered = await ckpt.run(["recover"]);
    assert.match(String(recovered.stdout), /CRIU had finished; "c" runs under its monitor and is adopted/);
    assert.equal((await ps(ckpt))?.status, "running");
    await goesOnFrom(count, atKill);
    assert.equal((await readFile(join(ckpt.root, "containers", "c", "criu.conf"), "utf8")).trim(), "", "criu.conf does not outlive its restore");
    await ckpt.ok(["exec", "c", "--", "true"]);
    await ckpt.ok(["checkpoint", "--leave-running", "c"]);
  });

  test("migrate killed while streaming: the target refuses the cut archive and keeps nothing; the source's checkpoint moves from staging to the store, recover says the target may need checking, and it restores here", async (t) => {
    if (!(await requireRealHost(t, "runc"))) return;
    const { ckpt, sandbox, count } = await countingContainer(t, 32);
    const target = new CkptRoot(sandbox, "target-root");
    const leftovers = await watchStaging(ckpt.root);
    const killed = await killCkptAt(ckpt, sandbox, ["migrate", "c", "--to", `${ckptBin} --root ${target.root}`], "migrate:archiving");
    const scratchOf = async () => (await readdir(tmpdir())).filter((n) => n.startsWith(`ckpt-migrate-${killed}-`));
    assert.equal((await scratchOf()).length, 1, "the killed migration left its scratch (its FIFO)");
    const atKill = await count();
    await waitFor("the target to give up on the cut stream", async () => ((await execa("pgrep", ["-f", "--", `--root ${target.root} restore`], { reject: false })).exitCode === 1 ? true : undefined), 30_000);
    assert.deepEqual(await target.json<unknown[]>(["ps", "-a"]), [], "the target kept nothing");
    const recovered = await ckpt.run(["recover", "c"]);
    assert.match(String(recovered.stdout), /interrupted migrate of "c".*its checkpoint is kept in the store as \S+.*the migration's target may have started it too/);
    assert.deepEqual(await scratchOf(), [], "recover removed the killed migration's scratch");
    await ckpt.ok(["restore", "c"]);
    await goesOnFrom(count, atKill);
    assert.deepEqual(await leftovers(), [], "no staging is left");
  });

  test("a migration target reading a cut stream with its output pipe closed (its source killed) dies on EPIPE but leaves no staging", async (t) => {
    if (!(await requireRealHost(t, "runc"))) return;
    const { ckpt, sandbox } = await countingContainer(t, 16);
    const archive = sandbox.path("c.tar");
    await ckpt.ok(["checkpoint", "--export", archive, "-c", "none", "c"]);
    const cut = sandbox.path("cut.tar");
    await execa("sh", ["-c", `head -c 300000 "$1" > "$2"`, "_", archive, cut]);
    const target = new CkptRoot(sandbox, "target-root");
    const leftovers = await watchStaging(target.root);
    await execa("sh", ["-c", `"$1" --root "$2" restore --import - --json < "$3" 2>&1 | true`, "_", ckptBin, target.root, cut], { env: { CKPT_NODE: process.execPath } });
    assert.deepEqual(await leftovers(), [], "no staging is left on the target");
    assert.deepEqual(await target.json<unknown[]>(["ps", "-a"]), [], "the target kept nothing");
  });

  test("import killed while unpacking: recover removes its staging; the archive is untouched and imports after", async (t) => {
    if (!(await requireRealHost(t, "runc"))) return;
    const { ckpt, sandbox } = await countingContainer(t, 300);
    const archive = sandbox.path("c.tar");
    await ckpt.ok(["checkpoint", "--export", archive, "-c", "none", "c"]);
    await ckpt.ok(["rm", "-f", "c"]);
    const before = (await execa("sha256sum", [archive])).stdout;
    const leftovers = await watchStaging(ckpt.root);
    const child = backgroundCkpt(ckpt, ["restore", "--import", archive]);
    const staged = await waitFor("the import to unpack", async () => {
      const dirs = (await readdir("/dev/shm")).filter((n) => new RegExp(`^ckpt-import-[0-9a-f]{12}-${child.pid}-`).test(n));
      return dirs.length > 0 ? dirs : undefined;
    }, 20_000);
    process.kill(child.pid!, "SIGKILL");
    await child;
    assert.ok(existsSync(join("/dev/shm", staged[0]!)), "the killed import left its staging");
    const recovered = await ckpt.json<{ stagingRemoved: string[] }>(["recover"]);
    assert.ok(recovered.stagingRemoved.includes(join("/dev/shm", staged[0]!)), "recover removed it");
    assert.deepEqual(await leftovers(), []);
    assert.equal((await execa("sha256sum", [archive])).stdout, before, "the archive is untouched");
    await ckpt.ok(["restore", "--import", archive]);
    assert.equal((await ps(ckpt))?.status, "running");
  });
});

