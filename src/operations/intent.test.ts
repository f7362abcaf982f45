import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { StoreLayout } from "../store/layout.ts";
import { beginIntent, intentPath, ownerAlive, readIntent } from "./intent.ts";

async function layoutWith(t: { after(fn: () => Promise<void>): void }): Promise<StoreLayout> {
  const root = await mkdtemp(join(tmpdir(), "ckpt-unit-intent-"));
  t.after(() => rm(root, { recursive: true, force: true }));
  const layout = new StoreLayout(root);
  await mkdir(layout.containerDir("web"), { recursive: true });
  return layout;
}

test("an intent is written before anything, updated per phase with the paths it owns, and removed when done", async (t) => {
  const layout = await layoutWith(t);
  const handle = await beginIntent(layout, "web", "checkpoint", { paths: { partialDir: "/s/web/1.partial" }, leaveRunning: false });
  let read = await readIntent(layout, "web");
  assert.equal(read.kind === "intent" && read.intent.phase, "prepared");
  assert.equal(read.kind === "intent" && (await ownerAlive(read.intent)), true, "this process owns it");
  await handle.advance("dumping", { paths: { workDir: "/s/web/1.partial/work" } });
  read = await readIntent(layout, "web");
  assert.deepEqual(read.kind === "intent" && [read.intent.phase, read.intent.paths], ["dumping", { partialDir: "/s/web/1.partial", workDir: "/s/web/1.partial/work" }]);
  const nested = await beginIntent(layout, "web", "restore");
  await nested.done();
  assert.equal((await readIntent(layout, "web")).kind, "intent", "an operation inside this process's own leaves the outer record alone");
  await handle.done();
  assert.equal((await readIntent(layout, "web")).kind, "none");
});

test("a PID that lives on with another start time is not the owner (a reused PID); a damaged record says why", async (t) => {
  const layout = await layoutWith(t);
  const handle = await beginIntent(layout, "web", "restore");
  const forged = { ...handle.intent, owner: { ...handle.intent.owner, startTimeTicks: "1" } };
  assert.equal(await ownerAlive(forged), false);
  assert.equal(await ownerAlive({ ...handle.intent, owner: { ...handle.intent.owner, pid: 2 ** 22 + 1 } }), false, "a PID that does not exist");
  await writeFile(intentPath(layout, "web"), "{ not json");
  const damaged = await readIntent(layout, "web");
  assert.equal(damaged.kind, "damaged");
  await writeFile(intentPath(layout, "web"), JSON.stringify({ ...handle.intent, phase: "teleporting" }));
  const wrong = await readIntent(layout, "web");
  assert.ok(wrong.kind === "damaged" && /phase/.test(wrong.reason));
});
