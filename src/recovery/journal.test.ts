import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { CkptError, ExitCode } from "../errors.ts";
import { journalProblems, newJournal, planRestoreAll, readJournal, recordOutcome, writeJournal } from "./journal.ts";

test("a journal starts with every container pending, sorted, and records each outcome", () => {
  let j = newJournal(["web", "db", "cache"], "boot-1", 100n);
  assert.deepEqual(j.entries.map((e) => [e.name, e.state]), [
    ["cache", "pending"],
    ["db", "pending"],
    ["web", "pending"],
  ]);
  j = recordOutcome(j, "db", { state: "checkpointed", checkpoint: "/var/lib/ckpt/checkpoints/db/X" }, 200n);
  j = recordOutcome(j, "web", { state: "stopped", signal: "SIGTERM", reason: "pre-flight refused: PID 9 outside PID 1's tree" }, 300n);
  assert.deepEqual(j.entries.find((e) => e.name === "db"), { name: "db", state: "checkpointed", checkpoint: "/var/lib/ckpt/checkpoints/db/X", signal: null, reason: null, attempts: 0, updatedAtNs: "200" });
  assert.throws(() => recordOutcome(j, "nope", { state: "stopped" }, 1n), /no entry for nope/);
});

test("restore --all restores the checkpointed (and retries the failed); pending and stopped are only reported", () => {
  let j = newJournal(["a", "b", "c", "d", "e"], "boot-1", 1n);
  j = recordOutcome(j, "a", { state: "checkpointed", checkpoint: "/x/a" }, 2n);
  j = recordOutcome(j, "b", { state: "stopped", signal: "SIGKILL" }, 2n);
  j = recordOutcome(j, "c", { state: "failed", checkpoint: "/x/c", attempts: 2 }, 2n);
  j = recordOutcome(j, "d", { state: "restored", checkpoint: "/x/d" }, 2n);
  const plan = planRestoreAll(j);
  assert.deepEqual(plan.restore.map((e) => e.name), ["a", "c"]);
  assert.deepEqual(plan.report.map((e) => [e.name, e.state]), [
    ["b", "stopped"],
    ["d", "restored"],
    ["e", "pending"],
  ]);
});

test("a container another command held is journalled busy with its holder, and only reported by the plan", () => {
  let j = newJournal(["a", "b"], "boot-1", 1n);
  j = recordOutcome(j, "a", { state: "busy", reason: 'container "a" is busy: ckpt checkpoint a (PID 7) has held it for 1.0 s' }, 2n);
  j = recordOutcome(j, "b", { state: "checkpointed", checkpoint: "/x/b" }, 2n);
  const plan = planRestoreAll(j);
  assert.deepEqual(plan.restore.map((e) => e.name), ["b"]);
  assert.deepEqual(plan.report.map((e) => [e.name, e.state]), [["a", "busy"]]);
});

test("the journal round-trips through its file; a damaged one is refused with the field named", async () => {
  const dir = await mkdtemp(join(tmpdir(), "ckpt-journal-"));
  try {
    const path = join(dir, "journal.json");
    const j = recordOutcome(newJournal(["web"], "boot-1", 5n), "web", { state: "checkpointed", checkpoint: "/c" }, 6n);
    await writeJournal(path, j);
    assert.deepEqual(await readJournal(path), j);
    const damaged = JSON.parse(await readFile(path, "utf8")) as { entries: { state: string }[] };
    damaged.entries[0]!.state = "half-done";
    await writeFile(path, JSON.stringify(damaged));
    await assert.rejects(readJournal(path), /journal .* is damaged: entries\.0\.state/);
    await assert.rejects(readJournal(join(dir, "missing.json")), /no recovery journal/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("journal entries are container names and their checkpoints the store's own: ../../x is refused as damaged (exit 8)", async () => {
  const dir = await mkdtemp(join(tmpdir(), "ckpt-journal-"));
  try {
    const path = join(dir, "journal.json");
    const stamp = "20261122T080309.123456789Z";
    const ofStore = (name: string) => `/var/lib/ckpt/checkpoints/${name}`;
    const good = recordOutcome(newJournal(["web"], "boot-1", 5n), "web", { state: "checkpointed", checkpoint: `${ofStore("web")}/${stamp}` }, 6n);
    assert.deepEqual(journalProblems(good, ofStore), []);
    assert.deepEqual(journalProblems(recordOutcome(good, "web", { checkpoint: `${ofStore("web")}/${stamp}.partial` }, 7n), ofStore), [], "a dump an interrupted checkpoint --all left");
    for (const checkpoint of [`${ofStore("db")}/${stamp}`, `${ofStore("web")}/../db/${stamp}`, `/tmp/${stamp}`, `${ofStore("web")}/${stamp}.failed`, `${ofStore("web")}/x/${stamp}`, `${ofStore("web")}/../../../../etc`]) {
      assert.equal(journalProblems(recordOutcome(good, "web", { checkpoint }, 7n), ofStore).length, 1, checkpoint);
    }
    await writeFile(path, JSON.stringify({ ...good, entries: [{ ...good.entries[0]!, name: "../../x" }] }));
    await assert.rejects(readJournal(path), (e: CkptError) => e.exitCode === ExitCode.badCheckpoint && /journal .*journal\.json is damaged: entries\.0\.name: not a container name/.test(e.message));
    await writeFile(path, JSON.stringify({ ...good, entries: [{ ...good.entries[0]!, checkpoint: `/elsewhere/checkpoints/web/${stamp}` }] }));
    assert.equal((await readJournal(path)).entries.length, 1, "without the store's layout only the schema is checked");
    await assert.rejects(readJournal(path, ofStore), (e: CkptError) => e.exitCode === ExitCode.badCheckpoint && /is not a checkpoint of "web" in this store/.test(e.message));
    await writeFile(path, '{"formatVersion": 1, "entr');
    await assert.rejects(readJournal(path), (e: CkptError) => e.exitCode === ExitCode.badCheckpoint && e.message.includes(path) && /not valid JSON/.test(e.message) && /mv /.test(e.hint ?? ""));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
