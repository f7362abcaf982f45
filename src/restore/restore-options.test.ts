import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { NO_DUMP_OPTIONS, type DumpOptions } from "../criu/dump-options.ts";
import { checkDumpRequest, planRestoreOptions, recordedDumpOptions, unpassableOptions, type RecordedDumpOptions, type RestoreOptionsPlan } from "./restore-options.ts";

const none = { fileLocks: 0, establishedTcp: 0, tcpClose: false };
const made = (o: Partial<DumpOptions>): RecordedDumpOptions => recordedDumpOptions(o, none);

function ok(plan: RestoreOptionsPlan): Extract<RestoreOptionsPlan, { kind: "ok" }> {
  assert.equal(plan.kind, "ok", JSON.stringify(plan));
  return plan as Extract<RestoreOptionsPlan, { kind: "ok" }>;
}
function refused(plan: RestoreOptionsPlan): Extract<RestoreOptionsPlan, { kind: "refused" }> {
  assert.equal(plan.kind, "refused", JSON.stringify(plan));
  return plan as Extract<RestoreOptionsPlan, { kind: "refused" }>;
}
const applied = (plan: RestoreOptionsPlan) => ok(plan).applied.map((a) => [a.name, a.from]);

describe("recordedDumpOptions", () => {
  test("the manifest's options", () => {
    const r = recordedDumpOptions({ fileLocks: true, tcpEstablished: false }, none);
    assert.deepEqual(r.options, { tcpEstablished: false, fileLocks: true, tcpClose: false });
    assert.equal(r.evidence.fileLocks, "it was made with --file-locks");
  });

  test("what the images hold, for a checkpoint whose manifest does not say (another tool's, or an older ckpt's)", () => {
    const r = recordedDumpOptions({}, { fileLocks: 2, establishedTcp: 1, tcpClose: false });
    assert.deepEqual(r.options, { tcpEstablished: true, fileLocks: true, tcpClose: false });
    assert.equal(r.evidence.fileLocks, "its images hold 2 file locks");
    assert.equal(r.evidence.tcpEstablished, "its images hold 1 established TCP connection");
    const closed = recordedDumpOptions({}, { fileLocks: 1, establishedTcp: 3, tcpClose: true });
    assert.equal(closed.options.tcpClose, true);
    assert.equal(closed.evidence.fileLocks, "its images hold 1 file lock");
    assert.match(closed.evidence.tcpClose ?? "", /inventory/);
  });

  test("nothing recorded, nothing held: no options", () => {
    assert.deepEqual(recordedDumpOptions({ tcpEstablished: false, fileLocks: false }, none), { options: NO_DUMP_OPTIONS, evidence: {} });
  });
});

describe("planRestoreOptions: the checkpoint's options apply", () => {
  test("file-locks from the checkpoint, without a flag", () => {
    const plan = ok(planRestoreOptions(made({ fileLocks: true }), {}));
    assert.deepEqual(plan.options, { tcpEstablished: false, fileLocks: true, tcpClose: false });
    assert.deepEqual(plan.applied, [{ option: "fileLocks", name: "file-locks", from: "checkpoint", detail: "it was made with --file-locks" }]);
    assert.deepEqual(plan.warnings, []);
  });

  test("a flag that agrees with the checkpoint: still from the checkpoint", () => {
    assert.deepEqual(applied(planRestoreOptions(made({ fileLocks: true, tcpEstablished: true }), { fileLocks: true, tcpEstablished: true })), [
      ["file-locks", "checkpoint"],
      ["tcp-established", "checkpoint"],
    ]);
  });

  test("tcp-established from the checkpoint", () => {
    const plan = ok(planRestoreOptions(recordedDumpOptions({}, { ...none, establishedTcp: 2 }), {}));
    assert.deepEqual(plan.applied, [{ option: "tcpEstablished", name: "tcp-established", from: "checkpoint", detail: "its images hold 2 established TCP connections" }]);
  });

  test("tcp-close from the checkpoint (CRIU refuses its restore without it)", () => {
    const plan = ok(planRestoreOptions(made({ tcpClose: true }), {}));
    assert.deepEqual(plan.options, { tcpEstablished: false, fileLocks: false, tcpClose: true });
    assert.deepEqual(applied(plan), [["tcp-close", "checkpoint"]]);
  });

  test("nothing recorded, nothing asked: no options", () => {
    const plan = ok(planRestoreOptions(made({}), {}));
    assert.deepEqual(plan.options, NO_DUMP_OPTIONS);
    assert.deepEqual(plan.applied, []);
  });
});

describe("planRestoreOptions: flags", () => {
  test("--file-locks on a checkpoint without locks: from the flag, and it changes nothing", () => {
    const plan = ok(planRestoreOptions(made({}), { fileLocks: true }));
    assert.deepEqual(applied(plan), [["file-locks", "flag"]]);
    assert.match(plan.applied[0]!.detail, /changes nothing/);
  });

  test("--tcp-established on a checkpoint without connections: from the flag", () => {
    assert.deepEqual(applied(planRestoreOptions(made({}), { tcpEstablished: true })), [["tcp-established", "flag"]]);
  });

  test("--tcp-close on a checkpoint without connections: from the flag, no warning", () => {
    const plan = ok(planRestoreOptions(made({}), { tcpClose: true }));
    assert.deepEqual(applied(plan), [["tcp-close", "flag"]]);
    assert.deepEqual(plan.warnings, []);
  });

  test("--tcp-close on a --tcp-established checkpoint: the connections are restored closed, and it says so", () => {
    for (const requested of [{ tcpClose: true }, { tcpClose: true, tcpEstablished: false }]) {
      const plan = ok(planRestoreOptions(made({ tcpEstablished: true }), requested));
      assert.deepEqual(plan.options, { tcpEstablished: false, fileLocks: false, tcpClose: true });
      assert.deepEqual(applied(plan), [["tcp-close", "flag"]]);
      assert.match(plan.warnings[0] ?? "", /restored closed; their peers see them reset/);
    }
  });

  test("--no-file-locks and --no-tcp-established on a checkpoint without either: nothing", () => {
    const plan = ok(planRestoreOptions(made({}), { fileLocks: false, tcpEstablished: false, tcpClose: false }));
    assert.deepEqual(plan.options, NO_DUMP_OPTIONS);
  });
});

describe("planRestoreOptions: refusals", () => {
  test("--tcp-established with --tcp-close", () => {
    assert.match(refused(planRestoreOptions(made({}), { tcpEstablished: true, tcpClose: true })).reason, /contradict/);
  });

  test("--no-file-locks on a checkpoint holding locks: refused, never silently without them", () => {
    const r = refused(planRestoreOptions(recordedDumpOptions({}, { ...none, fileLocks: 1 }), { fileLocks: false }));
    assert.match(r.reason, /needs --file-locks \(its images hold 1 file lock\)/);
    assert.equal(r.hint, "restore without --no-file-locks");
  });

  test("--no-tcp-established on a checkpoint with connections: refused, pointing at --tcp-close", () => {
    const r = refused(planRestoreOptions(made({ tcpEstablished: true }), { tcpEstablished: false }));
    assert.match(r.reason, /holds established TCP connections/);
    assert.match(r.hint, /--tcp-close/);
  });

  test("--no-tcp-close on a --tcp-close checkpoint", () => {
    assert.match(refused(planRestoreOptions(made({ tcpClose: true }), { tcpClose: false })).reason, /needs --tcp-close/);
  });

  test("--tcp-established on a --tcp-close checkpoint: there is nothing to bring back open", () => {
    assert.match(refused(planRestoreOptions(made({ tcpClose: true }), { tcpEstablished: true })).reason, /cannot bring back connections/);
  });
});

describe("unpassableOptions and checkDumpRequest", () => {
  test("--tcp-close reaches CRIU only through a configuration file the runtime has it read", () => {
    const closed = { ...NO_DUMP_OPTIONS, tcpClose: true, fileLocks: true };
    assert.deepEqual(unpassableOptions(closed, false), ["tcpClose"]);
    assert.deepEqual(unpassableOptions(closed, true), []);
    assert.deepEqual(unpassableOptions({ ...NO_DUMP_OPTIONS, tcpEstablished: true, fileLocks: true }, false), [], "runc and crun take these as flags");
  });

  test("a dump cannot be asked for both --tcp-established and --tcp-close", () => {
    assert.match(checkDumpRequest({ tcpEstablished: true, fileLocks: false, tcpClose: true }) ?? "", /contradict/);
    assert.equal(checkDumpRequest({ tcpEstablished: true, fileLocks: true, tcpClose: false }), null);
  });
});
