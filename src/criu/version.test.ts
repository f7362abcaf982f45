import assert from "node:assert/strict";
import { test } from "node:test";
import { fixtureText } from "../../test/support/fixtures.ts";
import { criuErrorLines, parseCriuVersion } from "./version.ts";

test("parseCriuVersion reads Debian's 3.17.1 and the 4.1.1 setup-host builds", () => {
  assert.equal(parseCriuVersion(fixtureText("host/criu-3.17.1-version.txt")), "3.17.1");
  assert.equal(parseCriuVersion(fixtureText("host/criu-4.1.1-version.txt")), "4.1.1");
  assert.equal(parseCriuVersion("criu: command not found"), null);
});

test("criuErrorLines keeps the vDSO failure of CRIU 3.17 on kernel 6.18", () => {
  const lines = criuErrorLines(fixtureText("host/criu-3.17.1-check.txt"));
  assert.equal(lines.length, 4);
  assert.match(lines[0]!, /Unexpected rt vDSO area bounds/);
});

test("criuErrorLines reads timestamped log lines and skips warnings", () => {
  const log = "(00.000123) Warn  (criu/cr-check.c:824): Dirty tracking is OFF.\n(00.004567) Error (criu/cr-restore.c:1480): Can't restore sub-task in NS\n";
  assert.deepEqual(criuErrorLines(log), ["(00.004567) Error (criu/cr-restore.c:1480): Can't restore sub-task in NS"]);
});
