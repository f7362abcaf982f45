import assert from "node:assert/strict";
import { test } from "node:test";
import { planTimensUnification } from "./unify-plan.ts";

// PID 1 restored into a namespace of its own, 2.8 s behind the host (offsets as a
// CRIU-restored runc container showed here), while a `runc exec`'d daemon read the host's.
const pid1 = { monotonicNs: 4_000_000_000_000n, boottimeNs: 4_000_100_000_000n };
const host = { monotonicNs: 4_002_822_621_976n, boottimeNs: 4_002_922_621_976n };

test("with ckpt's manifest each clock becomes the larger of PID 1's and the host's, exactly", () => {
  const plan = planTimensUnification({ pid1, hostAtDump: host, dumpUptimeNs: null, boottimeAtImagesNs: null });
  assert.equal(plan.basis, "manifest");
  assert.deepEqual(plan.clocks, host);
  assert.deepEqual(plan.forwardNs, { monotonicNs: 2_822_621_976n, boottimeNs: 2_822_621_976n });
  assert.match(plan.note, /no task's clock goes backwards/);
});

test("PID 1 ahead of the host (a continue restore after a reboot) keeps its clocks", () => {
  const ahead = { monotonicNs: host.monotonicNs + 5n, boottimeNs: host.boottimeNs + 7n };
  const plan = planTimensUnification({ pid1: ahead, hostAtDump: host, dumpUptimeNs: null, boottimeAtImagesNs: null });
  assert.deepEqual(plan.clocks, ahead);
  assert.deepEqual(plan.forwardNs, { monotonicNs: 0n, boottimeNs: 0n });
  assert.match(plan.note, /stay as dumped/);
});

test("one clock ahead and one behind: each is raised on its own", () => {
  const mixed = { monotonicNs: host.monotonicNs + 1n, boottimeNs: host.boottimeNs - 1n };
  const plan = planTimensUnification({ pid1: mixed, hostAtDump: host, dumpUptimeNs: null, boottimeAtImagesNs: null });
  assert.deepEqual(plan.clocks, { monotonicNs: mixed.monotonicNs, boottimeNs: host.boottimeNs });
});

test("CRIU's recorded uptime (10 ms steps) bounds both host clocks from above", () => {
  const uptime = 4_002_920_000_000n; // /proc/uptime 4002.92, below the true 4002.9226...
  const plan = planTimensUnification({ pid1, hostAtDump: null, dumpUptimeNs: uptime, boottimeAtImagesNs: null });
  assert.equal(plan.basis, "uptime");
  assert.ok(plan.clocks.boottimeNs >= host.boottimeNs, "boottime not behind the host's");
  assert.ok(plan.clocks.monotonicNs >= host.monotonicNs, "monotonic not behind the host's (monotonic <= boottime)");
  assert.equal(plan.clocks.boottimeNs, uptime + 10_000_000n);
});

test("images written on this boot: the write time bounds the host's clocks", () => {
  const plan = planTimensUnification({ pid1, hostAtDump: null, dumpUptimeNs: null, boottimeAtImagesNs: host.boottimeNs });
  assert.equal(plan.basis, "file-time");
  assert.ok(plan.clocks.monotonicNs >= host.monotonicNs && plan.clocks.boottimeNs >= host.boottimeNs);
  assert.equal(plan.clocks.boottimeNs - host.boottimeNs, 1_000_000_000n);
});

test("nothing known: PID 1's clocks are kept and the bound is stated", () => {
  const plan = planTimensUnification({ pid1, hostAtDump: null, dumpUptimeNs: null, boottimeAtImagesNs: null });
  assert.equal(plan.basis, "unknown");
  assert.deepEqual(plan.clocks, pid1);
  assert.match(plan.note, /step back by the host's clocks at the dump minus PID 1's/);
});
