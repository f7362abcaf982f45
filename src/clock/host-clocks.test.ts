import assert from "node:assert/strict";
import { test } from "node:test";
import { fixtureText } from "../../test/support/fixtures.ts";
import { parseTimerList } from "./host-clocks.ts";

test("timer_list from this machine kind: monotonic from 'now at', realtime and boottime from the base offsets", () => {
  const r = parseTimerList(fixtureText("proc/timer_list.txt"));
  assert.equal(r.monotonicNs, 2874071918508n);
  assert.equal(r.realtimeNs, 2874071918508n + 1795331554077383197n);
  assert.equal(r.boottimeNs, 2874071918508n);
});

test("a boottime offset (time spent suspended) is added to boottime only", () => {
  const text = "now at 100 nsecs\n\ncpu: 0\n clock 0:\n  .index:      0\n  .offset:     0 nsecs\n clock 1:\n  .index:      1\n  .offset:     5000 nsecs\n clock 2:\n  .index:      2\n  .offset:     70 nsecs\n";
  assert.deepEqual(parseTimerList(text), { monotonicNs: 100n, realtimeNs: 5100n, boottimeNs: 170n });
});

test("a timer_list without the clock bases is rejected, not misread", () => {
  assert.throws(() => parseTimerList("now at 100 nsecs\n"), /REALTIME or BOOTTIME/);
  assert.throws(() => parseTimerList("cpu: 0\n"), /now at/);
});
