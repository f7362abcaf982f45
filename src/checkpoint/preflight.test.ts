import assert from "node:assert/strict";
import { test } from "node:test";
import { checkpointPreflight, describeRefusal, type ContainerTask } from "./preflight.ts";

// A container after a CRIU restore: PID 1 (host 4100) in the namespace CRIU made, with a
// shell child. Inodes as seen on this project's machine.
const RESTORED_NS = "4026532390";
const HOST_NS = "4026531834";
const pid1: ContainerTask = { pid: 4100, ppid: 4090, command: "/usr/bin/clock-reporter", timeNamespace: RESTORED_NS };
const child: ContainerTask = { pid: 4101, ppid: 4100, command: "/bin/sh -c worker", timeNamespace: RESTORED_NS };
const allow = { allowProcessLoss: true };
const strict = { allowProcessLoss: false };

test("a healthy container passes", () => {
  assert.deepEqual(checkpointPreflight(4100, [pid1, child], strict), { ok: true, refusals: [], willBeLost: [] });
});

test("TESTBED fact 3: an `exec -d` process re-parented to the host's init is refused, named with its command", () => {
  const detached: ContainerTask = { pid: 4200, ppid: 1, command: "sleep 1000", timeNamespace: RESTORED_NS };
  const verdict = checkpointPreflight(4100, [pid1, child, detached], strict);
  assert.equal(verdict.ok, false);
  assert.deepEqual(verdict.refusals, [{ kind: "outside-process-tree", tasks: [detached] }]);
  assert.match(describeRefusal(verdict.refusals[0]!), /CRIU would drop them: 4200 \(sleep 1000\)/);
});

test("--allow-process-loss lets it through and lists what will be lost, with its children", () => {
  const detached: ContainerTask = { pid: 4200, ppid: 1, command: "sh", timeNamespace: RESTORED_NS };
  const grandchild: ContainerTask = { pid: 4201, ppid: 4200, command: "sleep 5", timeNamespace: RESTORED_NS };
  const verdict = checkpointPreflight(4100, [pid1, detached, grandchild], allow);
  assert.equal(verdict.ok, true);
  assert.deepEqual(verdict.willBeLost, [detached, grandchild]);
});

test("TESTBED fact 2: a daemon from `runc exec` re-parented under PID 1 but in the host's time namespace is refused", () => {
  const daemon: ContainerTask = { pid: 4300, ppid: 4100, command: "sleep 1000", timeNamespace: HOST_NS };
  const verdict = checkpointPreflight(4100, [pid1, child, daemon], strict);
  assert.deepEqual(verdict.refusals, [{ kind: "split-time-namespaces", pid1Namespace: RESTORED_NS, others: [daemon] }]);
  assert.match(describeRefusal(verdict.refusals[0]!), /another time namespace than PID 1's \(4026532390\).*4300 \(sleep 1000\)/);
});

test("split time namespaces are refused even when process loss is allowed", () => {
  const daemon: ContainerTask = { pid: 4300, ppid: 4100, command: "sleep 1000", timeNamespace: HOST_NS };
  assert.equal(checkpointPreflight(4100, [pid1, daemon], allow).ok, false);
});

test("both refusals at once; a lost task's time namespace does not count against the checkpoint", () => {
  const detachedOtherNs: ContainerTask = { pid: 4200, ppid: 1, command: "a", timeNamespace: HOST_NS };
  const daemon: ContainerTask = { pid: 4300, ppid: 4101, command: "b", timeNamespace: HOST_NS };
  const strictVerdict = checkpointPreflight(4100, [pid1, child, detachedOtherNs, daemon], strict);
  assert.deepEqual(strictVerdict.refusals.map((r) => r.kind), ["outside-process-tree", "split-time-namespaces"]);
  const allowed = checkpointPreflight(4100, [pid1, child, detachedOtherNs], allow);
  assert.equal(allowed.ok, true, "the dropped task is not dumped, so its namespace does not split the checkpoint");
});

test("PID 1 missing from the task list is a caller error, not a verdict", () => {
  assert.throws(() => checkpointPreflight(9999, [pid1], strict), /not among its tasks/);
});
