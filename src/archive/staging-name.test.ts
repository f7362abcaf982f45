import assert from "node:assert/strict";
import { test } from "node:test";
import { parseStagingName, stagingRootTag } from "./staging.ts";

test("a staging directory's name says its root and the process that made it; older names say only what they are for", () => {
  const tag = stagingRootTag("/var/lib/ckpt");
  assert.match(tag, /^[0-9a-f]{12}$/);
  assert.equal(stagingRootTag("/var/lib/ckpt/"), tag, "the same root however it is spelled");
  assert.notEqual(stagingRootTag("/srv/ckpt"), tag);
  assert.deepEqual(parseStagingName(`ckpt-export-${tag}-4242-123456-AbC123`), { purpose: "export", rootTag: tag, pid: 4242, startTimeTicks: 123456n });
  assert.deepEqual(parseStagingName("ckpt-import-Xy12zQ"), { purpose: "import", rootTag: null, pid: null, startTimeTicks: null });
  for (const other of ["ckpt-inet-probe-abc123", "ckpt-export-", `ckpt-export-${tag}-12-34-toolongsuffix`, "something-else", "ckpt-import-../../x"]) assert.equal(parseStagingName(other), null, other);
});
