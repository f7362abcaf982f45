import assert from "node:assert/strict";
import { test } from "node:test";
import { renderTable } from "./table.ts";

test("columns pad to the widest cell; right-aligned columns pad on the left; no trailing spaces", () => {
  assert.deepEqual(renderTable([["NAME", "PID"], ["web", "12345"], ["a-long-name", "7"]], { alignRight: [1] }), ["NAME           PID", "web          12345", "a-long-name      7"]);
  assert.deepEqual(renderTable([["x", ""]], { indent: "  " }), ["  x"]);
});
