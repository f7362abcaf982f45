// Retention on real runc and CRIU: the retain setting after a checkpoint, checkpoints prune
// (--keep, --older-than, --partial, --dry-run; the journal's checkpoints, a checkpointed
// container's state and recent leftovers stay; nothing is removed through a mount), and
// checkpoints rm.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { cp, mkdir, readdir, utimes, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { before, describe, test } from "node:test";
import { execa } from "execa";
import { stagingRootTag } from "../../src/archive/staging.ts";
import { createBusyboxBundle, politeShell } from "../harness/bundle.ts";
import { CkptRoot } from "../harness/ckpt-root.ts";
import { requireRealHost } from "../harness/prerequisites.ts";
import { removeStaleSandboxes, Sandbox } from "../harness/sandbox.ts";

interface Decision {
  path: string;
  kind: string;
  reason: string;
}
interface PruneJson {
  dryRun: boolean;
  removed: string[];
  remove: Decision[];
  kept: Decision[];
}


// Sets the modification time of `dir`, its entries and theirs an hour back.
async function age(dir: string): Promise<void> {
  const past = new Date(Date.now() - 3_600_000);
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) for (const inner of await readdir(path)) await utimes(join(path, inner), past, past);
    await utimes(path, past, past);
  }
  await utimes(dir, past, past);
}

describe("retention", () => {
  before(() => removeStaleSandboxes());

  test("retain after a checkpoint; prune keeps the N newest, honours --older-than and the journal, removes failed dumps and dead staging, reports partial dumps and removes them with --partial; checkpoints rm", async (t) => {
    if (!(await requireRealHost(t, "runc"))) return;
    const sandbox = await Sandbox.create(t);
    const ckpt = new CkptRoot(sandbox);
    const bundle = await createBusyboxBundle(sandbox.path("bundle"), { args: politeShell });
    await ckpt.ok(["--runtime", "runc", "run", "-d", "--name", "app", bundle]);
    const dir = join(ckpt.root, "checkpoints", "app");
    const stamps = async () => (await readdir(dir)).sort();

    for (let i = 0; i < 3; i++) await ckpt.ok(["checkpoint", "-R", "--retain", "all", "app"]);
    const [c1, c2, c3] = await stamps();
    const fourth = await ckpt.ok(["checkpoint", "-R", "--retain", "2", "app"]);
    const afterRetain = await stamps();
    assert.equal(afterRetain.length, 2, `retain 2 kept two: ${afterRetain.join(" ")}`);
    assert.equal(afterRetain[0], c3);
    const c4 = afterRetain[1]!;
    assert.match(String(fourth.stderr), new RegExp(`retain 2: removed .*${c1}.*${c2}`));
    for (let i = 0; i < 2; i++) await ckpt.ok(["checkpoint", "-R", "--retain", "all", "app"]);
    const [, , c5, c6] = await stamps();
    assert.ok(c5 !== undefined && c6 !== undefined);

    // The recovery journal names the oldest checkpoint.
    const journalEntry = { name: "app", state: "checkpointed", checkpoint: join(dir, c3!), signal: null, reason: null, attempts: 1, updatedAtNs: "1" };
    await writeFile(join(ckpt.root, "recovery-journal.json"), JSON.stringify({ formatVersion: 1, bootId: "x", startedAtNs: "1", entries: [journalEntry] }));
    // Leftovers: an old failed dump with something mounted inside, an old partial dump that
    // CRIU did not finish, an old one it finished (older than every checkpoint), one it
    // finished newer than every checkpoint, a failed dump just made, a dead import's staging.
    const failedOld = join(dir, "20200101T000000.000000000Z.failed");
    await mkdir(join(failedOld, "work", "mnt"), { recursive: true });
    await writeFile(join(failedOld, "work", "dump.log"), "Error (criu/cr-dump.c:1): dump failed\n");
    const partialIncomplete = join(dir, "20200101T000001.000000000Z.partial");
    await mkdir(join(partialIncomplete, "checkpoint"), { recursive: true });
    const partialComplete = join(dir, "20210101T000000.000000000Z.partial");
    await cp(join(dir, c6), partialComplete, { recursive: true });
    const partialLatest = join(dir, "20990101T000000.000000000Z.partial");
    await cp(join(dir, c6), partialLatest, { recursive: true });
    const failedYoung = join(dir, `${c6.slice(0, -2)}7Z.failed`);
    await mkdir(join(failedYoung, "work"), { recursive: true });
    const staging = join(ckpt.root, "staging", `ckpt-import-${stagingRootTag(ckpt.root)}-999999-1-abcdef`);
    await mkdir(join(staging, "checkpoint"), { recursive: true });
    for (const d of [failedOld, partialIncomplete, partialComplete, partialLatest, staging]) await age(d);
    // Something mounted below the failed dump: prune unmounts it and never deletes through it.
    const outside = sandbox.path("outside");
    await mkdir(outside);
    await writeFile(join(outside, "canary"), "still here");
    await age(outside);
    await execa("mount", ["--bind", outside, join(failedOld, "work", "mnt")]);
    t.after(() => execa("umount", ["--lazy", join(failedOld, "work", "mnt")], { reject: false }));

    // --older-than: only the failed dump of 2020 is that old among what prune may remove.
    const old = await ckpt.json<PruneJson>(["checkpoints", "prune", "--older-than", "1h", "--dry-run", "app"]);
    assert.deepEqual(old.remove.map((d) => d.path), [failedOld], JSON.stringify(old.kept));
    assert.deepEqual(old.removed, [], "--dry-run removes nothing");

    const plan = await ckpt.json<PruneJson>(["checkpoints", "prune", "--keep", "1", "--dry-run"]);
    assert.deepEqual(plan.remove.map((d) => d.path).sort(), [failedOld, join(dir, c4), join(dir, c5), staging].sort());
    const keptWhy = Object.fromEntries(plan.kept.map((d) => [d.path, d.reason]));
    assert.match(keptWhy[join(dir, c3!)]!, /named by the recovery journal/);
    assert.match(keptWhy[join(dir, c6)]!, /one of the 1 newest/);
    assert.match(keptWhy[partialIncomplete]!, /incomplete dump .*--partial removes it/);
    assert.match(keptWhy[partialComplete]!, /complete dump, older than the checkpoint/);
    assert.match(keptWhy[partialLatest]!, /newer than every checkpoint of app/);
    assert.match(keptWhy[failedYoung]!, /in use: changed \d+ s ago/);
    assert.ok(existsSync(join(dir, c4)) && existsSync(staging));

    const pruned = await ckpt.json<PruneJson>(["checkpoints", "prune", "--keep", "1"]);
    assert.deepEqual(pruned.removed.sort(), plan.remove.map((d) => d.path).sort());
    assert.deepEqual(await stamps(), [c3, c6, "20200101T000001.000000000Z.partial", "20210101T000000.000000000Z.partial", "20990101T000000.000000000Z.partial", failedYoung.slice(dir.length + 1)].sort());
    assert.ok(!existsSync(staging));
    assert.equal(await import("node:fs/promises").then((fs) => fs.readFile(join(outside, "canary"), "utf8")), "still here", "nothing was deleted through the mount");

    const withPartial = await ckpt.json<PruneJson>(["checkpoints", "prune", "--keep", "1", "--partial", "app"]);
    assert.deepEqual(withPartial.removed.sort(), [partialIncomplete, partialComplete].sort());
    assert.ok(existsSync(partialLatest), "a complete dump newer than every checkpoint stays even with --partial");

    // checkpoints rm: one by its stamp; the journal's and a checkpointed container's state are refused.
    const journalNamed = await ckpt.run(["checkpoints", "rm", `app@${c3}`]);
    assert.equal(journalNamed.exitCode, 9, String(journalNamed.stderr));
    assert.match(String(journalNamed.stderr), /refusing to remove .*named by the recovery journal/);
    assert.equal((await ckpt.run(["checkpoints", "rm", "app"])).exitCode, 2, "a name alone says nothing about which");
    assert.equal((await ckpt.run(["checkpoints", "rm", "app@yesterday"])).exitCode, 2);
    assert.equal((await ckpt.run(["checkpoints", "rm", "app@20200101T000000.000000000Z"])).exitCode, 4);
    assert.equal((await ckpt.run(["checkpoints", "rm", "../x@20200101T000000.000000000Z"])).exitCode, 2);
    await ckpt.ok(["checkpoints", "rm", `app@${c6}`, "app@20990101T000000.000000000Z.partial"]);
    await ckpt.ok(["checkpoint", "--retain", "all", "app"]);
    const state = (await stamps()).find((s) => /Z$/.test(s) && s !== c3)!;
    const stateRefused = await ckpt.run(["checkpoints", "rm", `app@${state}`]);
    assert.equal(stateRefused.exitCode, 9, String(stateRefused.stderr));
    assert.match(String(stateRefused.stderr), /the state of the checkpointed container app/);
    const everything = await ckpt.json<PruneJson>(["checkpoints", "prune", "--older-than", "0s", "app"]);
    assert.deepEqual(everything.removed, [], `the journal's and the container's state stay: ${JSON.stringify(everything.kept)}`);
    await ckpt.ok(["restore", "app"]);
  });
});
