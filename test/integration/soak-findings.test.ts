// Faults the crash-safety soak (test/soak/soak.ts) found, each as the smallest sequence that
// shows it: kill -9 of ckpt in a window the phases did not cover, and a journal of
// checkpoint --all older than the container's state. Real runc and CRIU; the container is
// the shell counter of crash-safety.test.ts (a rollback shows as the counter going back).
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { before, describe, test } from "node:test";
import { execa } from "execa";
import { CkptRoot } from "../harness/ckpt-root.ts";
import { requireRealHost } from "../harness/prerequisites.ts";
import { waitFor } from "../harness/reports.ts";
import { countingContainer, killCkptAt } from "../harness/crash.ts";
import { removeStaleSandboxes } from "../harness/sandbox.ts";
import { watchStaging } from "../harness/staging.ts";

interface PsEntry {
  name: string;
  status: string;
}
interface Journal {
  entries: { name: string; state: string; checkpoint: string | null; reason: string | null }[];
}

async function ps(ckpt: CkptRoot): Promise<PsEntry | undefined> {
  return (await ckpt.json<PsEntry[]>(["ps", "-a"])).find((e) => e.name === "c");
}

// Watches the counter for a while: it must pass `atLeast` and never show less.
async function neverBelow(count: () => Promise<number>, atLeast: number): Promise<void> {
  let lowest = Infinity;
  const later = await waitFor("the counter to go on", async () => {
    const n = await count();
    lowest = Math.min(lowest, n);
    return n > atLeast + 5 ? n : undefined;
  }, 20_000);
  assert.ok(lowest >= atLeast, `the counter went back from ${atLeast} to ${lowest} (now ${later}): the container was rolled back`);
}

describe("soak findings", () => {
  before(() => removeStaleSandboxes());

  test("kill -9 of checkpoint after its directory was renamed, before its record was updated: recover calls the complete dump incomplete and names a checkpoint that is gone", async (t) => {
    if (!(await requireRealHost(t, "runc"))) return;
    const { ckpt, sandbox, count } = await countingContainer(t);
    await killCkptAt(ckpt, sandbox, ["checkpoint", "c"], "checkpoint:recorded");
    const atKill = await count();
    const stored = (await readdir(join(ckpt.root, "checkpoints", "c"))).filter((d) => !/\.(partial|failed|work)$/.test(d));
    assert.equal(stored.length, 1, "the checkpoint is complete under its final name");
    const recovered = await ckpt.json<{ recovered: { outcome: string; said: string }[] }>(["recover"]);
    assert.equal(recovered.recovered.length, 1);
    assert.match(recovered.recovered[0]!.said, new RegExp(`the checkpoint ${stored[0]!.replace(/\./g, "\\.")} was complete and is now the newest; "c" is checkpointed`));
    assert.equal((await ps(ckpt))?.status, "checkpointed");
    const restored = await ckpt.ok(["restore", "c"]);
    assert.match(String(restored.stdout), new RegExp(stored[0]!.replace(/\./g, "\\.")));
    await neverBelow(count, atKill);
  });

  test("kill -9 of export --keep after the archive was renamed into place and kept in the store: recover fails on its own copy and calls the complete archive unwritten", async (t) => {
    if (!(await requireRealHost(t, "runc"))) return;
    const { ckpt, sandbox, count } = await countingContainer(t);
    const leftovers = await watchStaging(ckpt.root);
    const archive = sandbox.path("c.tar.zst");
    await killCkptAt(ckpt, sandbox, ["checkpoint", "--export", archive, "--keep", "c"], "export:committed");
    const atKill = await count();
    const recovered = await ckpt.run(["recover", "c"]);
    assert.equal(recovered.exitCode, 0, String(recovered.stderr));
    assert.match(String(recovered.stdout), /interrupted export of "c" .*its checkpoint is kept in the store as \S+; the archive \S+c\.tar\.zst was complete too/);
    assert.ok(existsSync(archive), "the archive is in place");
    assert.deepEqual((await readdir(sandbox.dir)).filter((n) => n.startsWith(".c.tar.zst")), [], "no temporary archive");
    assert.deepEqual((await readdir(join(ckpt.root, "checkpoints", "c"))).filter((d) => d.endsWith(".partial")), [], "no partial copy in the store");
    assert.deepEqual(await leftovers(), []);
    assert.equal((await ps(ckpt))?.status, "checkpointed");
    await ckpt.ok(["restore", "c"]);
    await neverBelow(count, atKill);
  });

  test("restore --all with a journal older than the container (restored and checkpointed again since checkpoint --all) rolls it back to the journal's checkpoint", async (t) => {
    if (!(await requireRealHost(t, "runc"))) return;
    const { ckpt, count } = await countingContainer(t);
    await ckpt.ok(["checkpoint", "--all"]);
    const atAll = await count();
    await ckpt.ok(["restore", "c"]);
    await waitFor("the counter to go on", async () => ((await count()) > atAll + 20 ? true : undefined), 20_000);
    await ckpt.ok(["checkpoint", "c"]);
    const atNewer = await count();
    const back = await ckpt.run(["restore", "--all", "--json"]);
    assert.equal(back.exitCode, 0, String(back.stderr));
    await neverBelow(count, atNewer);
    const entry = (JSON.parse(String(back.stdout)) as Journal).entries.find((e) => e.name === "c");
    assert.equal(entry?.state, "restored");
    assert.match(entry?.reason ?? "", /checkpointed again since checkpoint --all: restored from its newest checkpoint/);
  });

  test("restore --all with a journal older than the container (restored since checkpoint --all, running): it is left running, at once, not retried for minutes and failed", async (t) => {
    if (!(await requireRealHost(t, "runc"))) return;
    const { ckpt, count } = await countingContainer(t);
    await ckpt.ok(["checkpoint", "--all"]);
    await ckpt.ok(["restore", "c"]);
    const atRestore = await count();
    const back = await ckpt.run(["restore", "--all", "--json", "--max-attempts", "2", "--backoff-initial", "1s"]);
    assert.equal(back.exitCode, 0, String(back.stderr));
    const entry = (JSON.parse(String(back.stdout)) as Journal).entries.find((e) => e.name === "c");
    assert.equal(entry?.state, "left");
    assert.match(entry?.reason ?? "", /restored since checkpoint --all and is running/);
    assert.equal((await ps(ckpt))?.status, "running");
    const runc = await execa("runc", ["--root", join(ckpt.root, "runtime", "runc"), "list", "-q"]);
    assert.equal(runc.stdout.trim().split("\n").filter(Boolean).length, 1, "one runtime container");
    await neverBelow(count, atRestore);
  });
});

describe("soak findings: restore NAME after an export", () => {
  test("restore NAME after an export without --keep restores an older checkpoint of the store in silence: the state the archive holds is rolled back", async (t) => {
    if (!(await requireRealHost(t, "runc"))) return;
    const { ckpt, sandbox, count } = await countingContainer(t);
    await ckpt.ok(["checkpoint", "c"]);
    await ckpt.ok(["restore", "c"]);
    await waitFor("the counter to go on", async () => ((await count()) > 40 ? true : undefined), 20_000);
    const archive = sandbox.path("c.tar.zst");
    await ckpt.ok(["checkpoint", "--export", archive, "c"]);
    const atExport = await count();
    const refused = await ckpt.run(["restore", "c"]);
    assert.equal(refused.exitCode, 5, `restore by name refuses the older checkpoint: ${String(refused.stdout)} ${String(refused.stderr)}`);
    assert.match(String(refused.stderr), /was last exported to \S+c\.tar\.zst, not kept in the store; the newest checkpoint in the store, \S+, holds an older state/);
    assert.equal((await ps(ckpt))?.status, "checkpointed");
    await ckpt.ok(["restore", "--import", archive]);
    // An imported container runs on the archive's copy of its root filesystem.
    const imported = async () => Number((await readFile(join(ckpt.root, "containers", "c", "rootfs", "tmp", "count"), "utf8").catch(() => "0")).trim() || "0");
    await neverBelow(imported, atExport);
  });
});

describe("soak findings: import", () => {
  test("kill -9 of import while it unpacks the root filesystem, before its record: recover leaves the half-imported directory (ps -a: damaged) and importing again is refused (name in use)", async (t) => {
    if (!(await requireRealHost(t, "runc"))) return;
    const { ckpt, sandbox } = await countingContainer(t);
    const archive = sandbox.path("c.tar");
    await ckpt.ok(["checkpoint", "--export", archive, "-c", "none", "c"]);
    await ckpt.ok(["rm", "-f", "c"]);
    const leftovers = await watchStaging(ckpt.root);
    await killCkptAt(ckpt, sandbox, ["restore", "--import", archive], "import:unpacking");
    const recovered = await ckpt.run(["recover"]);
    assert.equal(recovered.exitCode, 0, String(recovered.stderr));
    assert.match(String(recovered.stdout), /interrupted import of "c" \(killed at its prepared phase\) had not written its container record; what it had made was removed/);
    assert.deepEqual(await ckpt.json<PsEntry[]>(["ps", "-a"]), [], "nothing is left of the half-imported container");
    assert.equal(existsSync(join(ckpt.root, "containers", "c")), false);
    assert.deepEqual(await leftovers(), []);
    await ckpt.ok(["restore", "--import", archive]);
    assert.equal((await ps(ckpt))?.status, "running");
  });
});

describe("soak findings: checkpoint --all", () => {
  test("kill -9 of checkpoint --all after CRIU dumped, then restore --all: its own recovery records the dump, and it then reports the container lost and leaves it checkpointed", async (t) => {
    if (!(await requireRealHost(t, "runc"))) return;
    const { ckpt, sandbox, count } = await countingContainer(t);
    await killCkptAt(ckpt, sandbox, ["checkpoint", "--all"], "checkpoint:dumped");
    const atKill = await count();
    const back = await ckpt.run(["restore", "--all", "--json"]);
    const entry = (JSON.parse(String(back.stdout)) as Journal).entries.find((e) => e.name === "c");
    assert.equal(entry?.state, "restored", `${entry?.state}: ${entry?.reason}`);
    assert.match(entry?.reason ?? "", /checkpoint --all was interrupted after CRIU dumped it; restored from that dump/);
    assert.equal((await ps(ckpt))?.status, "running");
    await neverBelow(count, atKill);
  });
});
