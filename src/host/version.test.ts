import assert from "node:assert/strict";
import { test } from "node:test";
import { compareVersions, isAtLeast, versionParts } from "./version.ts";

test("versionParts keeps the numeric dotted prefix of distribution versions", () => {
  assert.deepEqual(versionParts("1.1.5+ds1"), [1, 1, 5]);
  assert.deepEqual(versionParts("v24.21.0"), [24, 21, 0]);
  assert.deepEqual(versionParts("1.21"), [1, 21]);
  assert.deepEqual(versionParts("unknown"), []);
});

test("compareVersions orders numerically, not lexically, and pads missing parts", () => {
  assert.ok(compareVersions("1.21", "1.8.1") > 0);
  assert.ok(compareVersions("1.1.5+ds1", "1.2.7") < 0);
  assert.equal(compareVersions("4.1", "4.1.0"), 0);
  assert.ok(compareVersions("1.10.0", "1.9.9") > 0);
});

test("isAtLeast is false for a version it cannot read", () => {
  assert.equal(isAtLeast("1.2.7", "1.2.7"), true);
  assert.equal(isAtLeast("1.3.0", "1.2.7"), true);
  assert.equal(isAtLeast("1.2.6", "1.2.7"), false);
  assert.equal(isAtLeast("", "0.1"), false);
});

test("a pre-release comes before its release; distribution suffixes are not pre-releases", () => {
  assert.equal(isAtLeast("1.3.0-rc.1", "1.3.0"), false);
  assert.equal(isAtLeast("1.3.0-rc.1", "1.2.7"), true);
  assert.equal(isAtLeast("1.2.7+ds1", "1.2.7"), true);
  assert.equal(isAtLeast("1.2.7~bpo12+1", "1.2.7"), true);
  assert.ok(compareVersions("1.2.7", "1.2.7-rc.2") > 0);
});
