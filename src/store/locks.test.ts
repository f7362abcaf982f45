import assert from "node:assert/strict";
import { test } from "node:test";
import { commandLine, describeBusy, flockArgs, parseLockHolder, startTicksOf } from "./locks.ts";

const holder = { pid: 1234, command: "ckpt checkpoint web", sinceMs: 10_000, startTicks: "987654" };

test("the holder file is read back, and a missing or damaged one is no holder", () => {
  assert.deepEqual(parseLockHolder(`${JSON.stringify(holder)}\n`), holder);
  assert.equal(parseLockHolder(null), null);
  assert.equal(parseLockHolder(""), null);
  assert.equal(parseLockHolder("{not json"), null);
  assert.equal(parseLockHolder(JSON.stringify({ ...holder, pid: -1 })), null);
  assert.equal(parseLockHolder(JSON.stringify({ ...holder, startTicks: "12a" })), null);
  assert.equal(parseLockHolder(JSON.stringify({ pid: 1, command: "x" })), null);
});

test("a busy container is described by its holder's command, PID and how long it has held it", () => {
  const busy = describeBusy('container "web"', holder, 5000, 13_200);
  assert.equal(busy.message, 'container "web" is busy: ckpt checkpoint web (PID 1234) has held it for 3.2 s (waited 5.0 s)');
  assert.match(busy.hint, /--lock-timeout/);
  assert.equal(describeBusy('container "web"', holder, 0, 10_000 + 125_000).message, 'container "web" is busy: ckpt checkpoint web (PID 1234) has held it for 2 min 5 s');
  assert.equal(describeBusy("the store", null, 0, 1).message, "the store is busy: another ckpt command holds it");
  // A clock that went back never shows a negative time.
  assert.match(describeBusy("x", holder, 0, 0).message, /held it for 0\.0 s/);
});

test("flock waits the timeout in seconds, or does not wait at all", () => {
  assert.deepEqual(flockArgs(5000), ["-x", "-w", "5.000", "3"]);
  assert.deepEqual(flockArgs(250), ["-x", "-w", "0.250", "3"]);
  assert.deepEqual(flockArgs(0), ["-x", "-n", "3"]);
});

test("a process's start time is field 22 of its stat, whatever its command name holds", () => {
  const rest = "S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 424242 20 21";
  assert.equal(startTicksOf(`77 (node) ${rest}`), "424242");
  assert.equal(startTicksOf(`77 (a) b (c) ${rest}`), "424242");
  assert.equal(startTicksOf("77 (short) S 1"), null);
});

test("the holder's command line is quoted where a shell would need it, and bounded", () => {
  assert.equal(commandLine(["restore", "web"]), "ckpt restore web");
  assert.equal(commandLine(["--root", "/var/lib/ckpt", "exec", "web", "--", "sh", "-c", "echo it's"]), "ckpt --root /var/lib/ckpt exec web -- sh -c 'echo it'\\''s'");
  assert.equal(commandLine(["x".repeat(500)]).length, 200);
});
