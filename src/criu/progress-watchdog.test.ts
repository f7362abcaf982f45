import assert from "node:assert/strict";
import { test } from "node:test";
import { observe, stalled, WATCHDOG_START } from "./progress-watchdog.ts";

test("a dump whose log or page counter keeps moving is never stalled", () => {
  let s = WATCHDOG_START;
  for (let t = 0; t <= 120_000; t += 1000) s = observe(s, { atMs: t, counters: [t % 7 === 0 ? 100 : t, 5] });
  assert.equal(stalled(s, 120_500, 60_000), false);
});

test("nothing moved for the timeout: stalled, measured from the last change", () => {
  let s = WATCHDOG_START;
  s = observe(s, { atMs: 0, counters: [10, 0] });
  s = observe(s, { atMs: 1000, counters: [20, 3] });
  for (let t = 2000; t <= 61_000; t += 1000) s = observe(s, { atMs: t, counters: [20, 3] });
  assert.equal(stalled(s, 60_999, 60_000), false);
  assert.equal(stalled(s, 61_000, 60_000), true);
});

test("any one counter moving is progress; before the first sample nothing is stalled", () => {
  let s = observe(WATCHDOG_START, { atMs: 0, counters: [1, 1] });
  s = observe(s, { atMs: 50_000, counters: [1, 2] });
  assert.equal(stalled(s, 100_000, 60_000), false);
  assert.equal(stalled(WATCHDOG_START, 1e12, 1), false);
});
