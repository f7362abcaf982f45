import assert from "node:assert/strict";
import { test } from "node:test";
import { fixtureText } from "../../test/support/fixtures.ts";
import { parseKernelConfig } from "./kernel.ts";

test("parseKernelConfig reads the options of this project's kernel (6.18, no soft-dirty)", () => {
  assert.deepEqual(parseKernelConfig(fixtureText("host/kernel-config-excerpt.txt")), {
    CONFIG_CHECKPOINT_RESTORE: "y",
    CONFIG_TIME_NS: "y",
    CONFIG_USERFAULTFD: "y",
    CONFIG_MEM_SOFT_DIRTY: "n",
  });
});

test("parseKernelConfig treats modules as present and absent options as n", () => {
  const values = parseKernelConfig("CONFIG_USERFAULTFD=m\nCONFIG_TIME_NS=\n");
  assert.equal(values["CONFIG_USERFAULTFD"], "m");
  assert.equal(values["CONFIG_TIME_NS"], "n");
  assert.equal(values["CONFIG_CHECKPOINT_RESTORE"], "n");
});
