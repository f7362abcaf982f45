import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { Intent } from "./intent.ts";
import { planRecovery, type RecoveryFacts } from "./recover.ts";

const intent = (operation: Intent["operation"], phase: Intent["phase"], extra: Partial<Intent> = {}): Intent => ({
  formatVersion: 1,
  operation,
  container: "web",
  phase,
  owner: { pid: 4242, startTimeTicks: "100", command: "ckpt checkpoint web" },
  startedAtMs: 0,
  phaseAtMs: 0,
  paths: {},
  ...extra,
});
const facts = (f: Partial<RecoveryFacts> = {}): RecoveryFacts => ({ dumpComplete: false, recordedCheckpoint: null, status: "running", monitorAlive: true, ...f });

describe("planRecovery: an interrupted dump (checkpoint, export, migrate)", () => {
  for (const operation of ["checkpoint", "export", "migrate"] as const) {
    test(`${operation}: a dump CRIU completed is recorded, whatever the container's state, from the dumping phase on`, () => {
      for (const phase of ["dumping", "dumped", "archiving"] as const) {
        for (const status of ["running", "exited", "checkpointed"] as const) assert.equal(planRecovery(intent(operation, phase), facts({ dumpComplete: true, status })).kind, "record-dump", `${phase} ${status}`);
      }
    });
    test(`${operation}: a recorded checkpoint waiting in staging is kept (moved to the store)`, () => {
      assert.equal(planRecovery(intent(operation, "archiving"), facts({ recordedCheckpoint: "/dev/shm/x/STAMP", status: "checkpointed" })).kind, "keep-recorded");
    });
    test(`${operation}: an incomplete dump of a running or frozen container is discarded, it runs on (thawed)`, () => {
      assert.equal(planRecovery(intent(operation, "dumping"), facts({ status: "running" })).kind, "discard-dump");
      assert.equal(planRecovery(intent(operation, "dumping"), facts({ status: "paused" })).kind, "discard-dump");
    });
    test(`${operation}: an incomplete dump of a container that no longer runs is said, never restored from an older checkpoint silently`, () => {
      assert.equal(planRecovery(intent(operation, "dumping"), facts({ status: "exited" })).kind, "discard-dump-stopped");
    });
  }
  test("killed before the dump began (prepared): a complete-looking dump is not trusted; the container runs on", () => {
    assert.equal(planRecovery(intent("checkpoint", "prepared"), facts({ dumpComplete: true })).kind, "discard-dump");
  });
});

describe("planRecovery: an interrupted restore or import", () => {
  for (const operation of ["restore", "import"] as const) {
    test(`${operation}: running under its live monitor after CRIU's phase: adopted`, () => {
      assert.equal(planRecovery(intent(operation, "restoring"), facts({ status: "running", monitorAlive: true })).kind, "adopt-restore");
      assert.equal(planRecovery(intent(operation, "restored"), facts({ status: "running", monitorAlive: true })).kind, "adopt-restore");
    });
    test(`${operation}: running without its monitor, half made, or not begun: ended, the checkpoint kept`, () => {
      assert.equal(planRecovery(intent(operation, "restoring"), facts({ status: "running", monitorAlive: false })).kind, "end-restore");
      assert.equal(planRecovery(intent(operation, "restoring"), facts({ status: "exited" })).kind, "end-restore");
      assert.equal(planRecovery(intent(operation, "prepared"), facts({ status: "running", monitorAlive: true })).kind, "end-restore");
    });
  }
});
