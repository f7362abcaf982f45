import assert from "node:assert/strict";
import { test } from "node:test";
import { toJson } from "./json.ts";
import { humanDuration, rfc3339Nano } from "./time.ts";

test("RFC 3339 keeps all nine fractional digits, including leading zeros", () => {
  assert.equal(rfc3339Nano(1795331554077383197n), "2026-11-22T07:12:34.077383197Z");
  assert.equal(rfc3339Nano(1_000_000_000_000_000_005n), "2001-09-09T01:46:40.000000005Z");
});

test("bigints become exact JSON integers beyond 2^53", () => {
  const text = toJson({ ns: 1795331554077383197n, label: "x" });
  assert.match(text, /"ns": 1795331554077383197,/);
  assert.equal(JSON.parse(text.replace(/(\d{16,})/, '"$1"')).ns, "1795331554077383197");
});

test("durations read naturally at each scale", () => {
  assert.equal(humanDuration(850_000_000n), "850ms");
  assert.equal(humanDuration(3_240_000_000n), "3.2s");
  assert.equal(humanDuration(125_000_000_000n), "2m05s");
});
