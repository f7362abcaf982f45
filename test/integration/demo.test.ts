// `ckpt demo` as a new user runs it on a freshly set-up machine: it works, says what it
// shows, and leaves nothing behind.
import assert from "node:assert/strict";
import { readdir } from "node:fs/promises";
import { test } from "node:test";
import { runtimeNames } from "../../src/runtimes/runtime.ts";
import { CkptRoot } from "../harness/ckpt-root.ts";
import { requireRealHost } from "../harness/prerequisites.ts";
import { Sandbox } from "../harness/sandbox.ts";

for (const runtime of runtimeNames) {
  test(`ckpt demo on ${runtime}: run, checkpoint, restore, exec on one clock, and a clean store afterwards`, async (t) => {
    if (!(await requireRealHost(t, runtime))) return;
    const ckpt = new CkptRoot(await Sandbox.create(t));
    const r = await ckpt.ok(["--runtime", runtime, "demo"]);
    const out = String(r.stdout);
    assert.match(out, /ckpt demo: \w+ [\d.]+.*CRIU 4\.([2-9]|\d{2,})\.\d+/);
    assert.match(out, /exec'd process\s+time:\[(\d+)\]\s+the same namespace: one clock/);
    const pid1 = /PID 1\s+time:\[(\d+)\]/.exec(out)?.[1];
    const exec = /exec'd process\s+time:\[(\d+)\]/.exec(out)?.[1];
    assert.equal(exec, pid1);
    assert.match(String(r.stderr), /building a busybox container/);
    assert.deepEqual(await ckpt.json<unknown[]>(["ps", "-a"]), []);
    assert.deepEqual(await readdir(`${ckpt.root}/checkpoints`), []);
  });
}
