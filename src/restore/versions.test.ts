import assert from "node:assert/strict";
import { test } from "node:test";
import { compareDumpAndRestore, oneClockLine } from "./versions.ts";

const dumped = { runtime: { name: "runc" as const, version: "1.1.5+ds1", path: "/usr/sbin/runc" }, criuVersion: "4.1.1" };
const now = { runtime: "runc" as const, runtimeVersion: "1.3.6", runtimePath: "/opt/runc-1.3.6/sbin/runc", criuVersion: "4.2.1", oneClock: "runtime" as const };

test("another runtime version and another CRIU: one warning naming both, with the way back", () => {
  const v = compareDumpAndRestore(dumped, now);
  assert.equal(v.warnings.length, 1);
  assert.match(v.warnings[0]!, /runc 1\.1\.5\+ds1 dumped it, runc 1\.3\.6 \(\/opt\/runc-1\.3\.6\/sbin\/runc\) restores it; CRIU 4\.1\.1 dumped it, CRIU 4\.2\.1 restores it/);
  assert.match(v.warnings[0]!, /--runtime-path, --criu/);
  assert.deepEqual(v.dumpedBy, { runtime: "runc", runtimeVersion: "1.1.5+ds1", criuVersion: "4.1.1" });
});

test("the same versions, or versions a foreign checkpoint does not record: no warning", () => {
  assert.deepEqual(compareDumpAndRestore({ runtime: { name: "runc", version: "1.3.6", path: "" }, criuVersion: "4.2.1" }, now).warnings, []);
  assert.deepEqual(compareDumpAndRestore({ runtime: { name: "runc", version: "", path: "" }, criuVersion: "" }, now).warnings, []);
});

test("another kind of runtime is said even when the dumping version is unknown", () => {
  const v = compareDumpAndRestore({ runtime: { name: "crun", version: "", path: "" }, criuVersion: "4.2.1" }, now);
  assert.match(v.warnings[0]!, /crun dumped it, runc 1\.3\.6 restores it/);
});

test("restore's one-clock line: the runtime relied on, or ckpt exec named", () => {
  assert.match(oneClockLine({ restoredBy: now }), /runc 1\.3\.6's own exec joins the container's time namespace; ckpt relies on it/);
  assert.match(oneClockLine({ restoredBy: { ...now, runtimeVersion: "1.1.5+ds1", oneClock: "ckpt" } }), /ckpt exec enters the container's time namespace first \(use ckpt exec, not runc exec\)/);
});
