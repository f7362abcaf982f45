import assert from "node:assert/strict";
import { chmod, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { probeCommand } from "./probe-command.ts";

// A configured runtime whose --version hangs in a wrapper script: the script's `sleep` kept
// the output pipe open after the timeout ended the script, and ckpt (run, doctor) waited
// for the sleep, not 10 s.
test("a --version that hangs with a child holding its output ends at the timeout, child and all", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "ckpt-probe-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const script = join(dir, "runc");
  await writeFile(script, `#!/bin/sh\ntrap '' TERM\nsleep 30 &\necho $! > ${dir}/child\nwait\n`);
  await chmod(script, 0o755);
  const started = Date.now();
  const r = await probeCommand(script, ["--version"], 500);
  assert.ok(Date.now() - started < 5_000, `ended after ${Date.now() - started} ms`);
  assert.equal(r.timedOut, true);
  const child = Number((await readFile(join(dir, "child"), "utf8")).trim());
  const childState = await readFile(`/proc/${child}/stat`, "utf8").then((s) => s.split(") ")[1]![0], () => "gone");
  assert.ok(childState === "gone" || childState === "Z", `the sleep was killed (state ${childState})`);
});

test("a probe that answers in time is not timed out", async () => {
  const r = await probeCommand("/bin/echo", ["runc version 1.1.5"], 5_000);
  assert.equal(r.timedOut, false);
  assert.equal(r.stdout, "runc version 1.1.5");
});
