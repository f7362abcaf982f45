import assert from "node:assert/strict";
import { test } from "node:test";
import { fixtureText } from "../../test/support/fixtures.ts";
import { hasEffectiveCapability, parseHardLimits, parseNofileLimits } from "./process-limits.ts";

test("this project's machine runs without CAP_SYS_RESOURCE (bit 24) but with CAP_SYS_ADMIN (bit 21)", () => {
  const status = fixtureText("host/status-capabilities.txt");
  assert.equal(hasEffectiveCapability(status, 24n), false);
  assert.equal(hasEffectiveCapability(status, 21n), true);
});

test("parseNofileLimits reads soft and hard open-file limits", () => {
  assert.deepEqual(parseNofileLimits(fixtureText("host/limits.txt")), { soft: 20000, hard: 20000 });
  assert.deepEqual(parseNofileLimits("Max open files            1024                 unlimited            files\n"), { soft: 1024, hard: null });
});

test("parseHardLimits reads every hard limit by its OCI rlimit name, unlimited as null", () => {
  const limits = parseHardLimits(fixtureText("host/limits.txt"));
  assert.equal(limits.get("RLIMIT_NOFILE"), 20000n);
  assert.equal(limits.get("RLIMIT_NPROC"), 96365n);
  assert.equal(limits.get("RLIMIT_STACK"), null);
  assert.equal(limits.get("RLIMIT_RTTIME"), null);
  assert.equal(limits.size, 16);
});
