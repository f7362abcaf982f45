import assert from "node:assert/strict";
import { test } from "node:test";
import { fixtureText } from "../../test/support/fixtures.ts";
import { criuErrorLines, criuEvidence, parseCriuVersion } from "./version.ts";

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

test("CRIU evidence: Error lines with two lines of context, the harmless rlimit error left out", () => {
  const log = [
    "(00.032793) Error (criu/util.c:1533): rlimit: Can't setup RLIMIT_NOFILE for self: Operation not permitted",
    "(00.100000) a",
    "(00.182199) Warn  (compel/arch/x86/src/lib/infect.c:418): Will restore 14148 with interrupted system call",
    "(00.182524) Error (criu/files-reg.c:1790): Can't lookup mount=27 for fd=2 path=/tmp/cx/err.txt",
    "(00.182535) Error (criu/cr-dump.c:1681): Dump files (pid: 14148) failed with -1",
    "(00.200000) b",
  ].join("\n");
  assert.deepEqual(criuEvidence(log), [
    "(00.100000) a",
    "(00.182199) Warn  (compel/arch/x86/src/lib/infect.c:418): Will restore 14148 with interrupted system call",
    "(00.182524) Error (criu/files-reg.c:1790): Can't lookup mount=27 for fd=2 path=/tmp/cx/err.txt",
    "(00.182535) Error (criu/cr-dump.c:1681): Dump files (pid: 14148) failed with -1",
  ]);
});
