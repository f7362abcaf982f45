import assert from "node:assert/strict";
import { test } from "node:test";
import { ExitCode } from "../errors.ts";
import { planCheckpoint, type CheckpointFacts } from "./checkpoint-plan.ts";
import { checkpointPreflight, type ContainerTask } from "./preflight.ts";

const NS = "4026532390";
const pid1: ContainerTask = { pid: 4100, ppid: 4090, command: "/usr/bin/clock-reporter", timeNamespace: NS };
const detached: ContainerTask = { pid: 4200, ppid: 1, command: "sleep 1000", timeNamespace: NS };
const none = { tcpEstablished: false, fileLocks: false, tcpClose: false };
const facts = (f: Partial<CheckpointFacts> = {}): CheckpointFacts => ({
  name: "web",
  runtime: "crun 1.21",
  status: "running",
  verdict: checkpointPreflight(4100, [pid1], { allowProcessLoss: false }),
  contradiction: null,
  effective: none,
  unpassable: [],
  connections: [],
  ...f,
});
const refused = (f: Partial<CheckpointFacts>) => {
  const plan = planCheckpoint(facts(f));
  assert.equal(plan.kind, "refused");
  return plan as Extract<typeof plan, { kind: "refused" }>;
};

test("a running container with a clean pre-flight and nothing CRIU cannot do: dump, with the options in effect", () => {
  assert.deepEqual(planCheckpoint(facts({ effective: { ...none, fileLocks: true } })), { kind: "dump", options: { ...none, fileLocks: true }, willBeLost: [] });
});

test("not running: a conflict (9); a checkpointed one is pointed at its restore", () => {
  assert.equal(refused({ status: "exited" }).exitCode, ExitCode.conflict);
  assert.match(refused({ status: "checkpointed" }).hint ?? "", /ckpt restore web/);
  assert.match(refused({ status: "paused" }).message, /is paused, not running/);
});

test("a pre-flight refusal (5) names the processes and says how to proceed; with --allow-process-loss the lost ones are in the plan", () => {
  const strict = refused({ verdict: checkpointPreflight(4100, [pid1, detached], { allowProcessLoss: false }) });
  assert.equal(strict.exitCode, ExitCode.refused);
  assert.match(strict.evidence.join("\n"), /4200 \(sleep 1000\)/);
  assert.match(strict.hint ?? "", /--allow-process-loss/);
  const allowed = planCheckpoint(facts({ verdict: checkpointPreflight(4100, [pid1, detached], { allowProcessLoss: true }) }));
  assert.equal(allowed.kind === "dump" && allowed.willBeLost.map((t) => t.pid).join(), "4200");
});

test("contradictory flags and options the runtime cannot pass are usage errors (2), naming the runtime", () => {
  assert.equal(refused({ contradiction: "--tcp-established and --tcp-close contradict" }).exitCode, ExitCode.usage);
  const unpassable = refused({ unpassable: ["fileLocks"] });
  assert.equal(unpassable.exitCode, ExitCode.usage);
  assert.match(unpassable.message, /crun 1\.21 cannot give CRIU --file-locks/);
});

test("open TCP connections are refused (5), each named, unless the options in effect keep or close them", () => {
  const connections = ["PID 767 (/bin/tcp-echo serve 7000): 192.0.2.50:7000 <-> 192.0.2.1:46882 (ESTABLISHED)"];
  const plan = refused({ connections });
  assert.equal(plan.exitCode, ExitCode.refused);
  assert.deepEqual(plan.evidence, connections);
  assert.match(plan.hint ?? "", /--tcp-established.*--tcp-close/);
  assert.equal(planCheckpoint(facts({ connections, effective: { ...none, tcpEstablished: true } })).kind, "dump");
  assert.equal(planCheckpoint(facts({ connections, effective: { ...none, tcpClose: true } })).kind, "dump");
});

test("refusals come in order: state, pre-flight, contradiction, runtime, connections", () => {
  const all = { status: "running" as const, verdict: checkpointPreflight(4100, [pid1, detached], { allowProcessLoss: false }), contradiction: "x", unpassable: ["fileLocks" as const], connections: ["c"] };
  assert.match(refused(all).message, /would lose processes/);
  assert.equal(refused({ ...all, verdict: facts().verdict }).message, "x");
  assert.match(refused({ ...all, verdict: facts().verdict, contradiction: null }).message, /cannot give CRIU/);
});

test("a CRIU that cannot dump inet sockets (4.1.x on Linux >= 6.16): refused before anything is frozen when the container holds one, naming them, CRIU's reason and the fix; a container without any goes", () => {
  const blocked = { criu: "criu 4.1.1 at /usr/local/lib/ckpt/matrix/criu-4.1.1/sbin/criu", reason: "Error (criu/sockets.c:628): sockets: Can't get 1:16 opt: Operation not supported", sockets: ["PID 4100 (/usr/bin/tcp-echo): TCP listener 0.0.0.0:7000", "PID 4100 (/usr/bin/tcp-echo): UDP 0.0.0.0:7001"] };
  const r = refused({ inetBlocked: blocked });
  assert.equal(r.exitCode, ExitCode.refused);
  assert.equal(r.message, 'refusing to checkpoint "web": criu 4.1.1 at /usr/local/lib/ckpt/matrix/criu-4.1.1/sbin/criu cannot dump inet sockets on this kernel, and it holds 2');
  assert.deepEqual(r.evidence, [...blocked.sockets, `CRIU: ${blocked.reason}`]);
  assert.match(r.hint!, /--criu PATH/);
  assert.equal(planCheckpoint(facts({ inetBlocked: { ...blocked, sockets: [] } })).kind, "dump");
  // Open connections are named first: they need a flag whatever the CRIU.
  assert.match(refused({ inetBlocked: blocked, connections: ["PID 1: a <-> b (ESTABLISHED)"] }).message, /open TCP connection/);
});
