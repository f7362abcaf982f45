import assert from "node:assert/strict";
import { test } from "node:test";
import { parseK8sLog } from "./logs.ts";

const recorded = [
  "2026-11-22T07:36:52.151988489+00:00 stdout F line 1",
  "2026-11-22T07:36:52.355446304+00:00 stderr F oops",
  "2026-11-22T07:36:52.557369856+00:00 stdout P par",
  "2026-11-22T07:36:52.557369999+00:00 stdout F tial",
  "2026-11-22T07:36:52.6+00:00 stdout F ",
].join("\n");

test("conmon's k8s-file lines: streams kept apart, partial chunks joined, empty lines kept", () => {
  const { lines, rest } = parseK8sLog(`${recorded}\n`);
  assert.deepEqual(lines.map((l) => [l.stream, l.text]), [["stdout", "line 1"], ["stderr", "oops"], ["stdout", "partial"], ["stdout", ""]]);
  assert.equal(rest, "");
});

test("an incomplete last line is left for the next read", () => {
  const { lines, rest } = parseK8sLog("2026-11-22T07:36:52.1+00:00 stdout F a\n2026-11-22T07:36:52.2+00:00 std");
  assert.deepEqual(lines.map((l) => l.text), ["a"]);
  assert.equal(rest, "2026-11-22T07:36:52.2+00:00 std");
});
