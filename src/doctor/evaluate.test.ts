import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { fixtureText, hostFacts } from "../../test/support/fixtures.ts";
import { inetDumpVerdict } from "../criu/inet-probe.ts";
import { evaluateHost, type DoctorReport } from "./evaluate.ts";

function check(report: DoctorReport, id: string) {
  const found = report.checks.find((c) => c.id === id);
  assert.ok(found, `no check ${id}`);
  return found;
}

describe("a host set up by scripts/setup-host.sh (recorded on Debian 12, kernel 6.18)", () => {
  const report = evaluateHost(hostFacts("debian12-ready"));

  test("is ok, with both runtimes checkpoint-capable", () => {
    assert.equal(report.ok, true);
    assert.deepEqual(report.runtimes.map((r) => [r.name, r.checkpoint]), [["runc", true], ["crun", true]]);
  });

  test("reports runc 1.1.5's exec outside the time namespace and crun 1.21's inside", () => {
    const runc = report.runtimes.find((r) => r.name === "runc")!;
    const crun = report.runtimes.find((r) => r.name === "crun")!;
    assert.equal(runc.execJoinsTimeNamespace, false);
    assert.equal(crun.execJoinsTimeNamespace, true);
    assert.match(check(report, "runtime.runc.exec-timens").detail, /two clocks/);
    assert.match(check(report, "runtime.runc.exec-timens").fix ?? "", /ckpt exec NAME -- CMD.*upgrade runc to >= 1\.2\.7/);
  });

  test("has no failed error-severity check, and notes the missing soft-dirty tracking", () => {
    assert.deepEqual(report.checks.filter((c) => !c.ok && c.severity === "error"), []);
    assert.equal(check(report, "kernel.soft-dirty").ok, false);
    assert.match(check(report, "kernel.soft-dirty").detail, /pre-dump/);
  });

  test("gives a fix for every failed check and none for passed ones", () => {
    for (const c of report.checks) assert.equal(c.fix === null, c.ok, c.id);
  });

  test("names criu's path and version", () => {
    assert.deepEqual(report.criu, { path: "/usr/local/sbin/criu", version: "4.2.1" });
  });

  test("says its CRIU dumped inet sockets on the running kernel", () => {
    const c = check(report, "criu.inet-sockets");
    assert.deepEqual([c.ok, c.severity], [true, "warning"]);
    assert.equal(c.detail, "criu 4.2.1 at /usr/local/sbin/criu dumps TCP and UDP sockets on kernel 6.18.44-fc-v657");
  });
});

describe("a fresh Debian 12 host before set-up (recorded with the tools hidden)", () => {
  const report = evaluateHost(hostFacts("debian12-fresh"));

  test("is not ok and names every missing piece with setup-host or a package as the fix", () => {
    assert.equal(report.ok, false);
    const failed = report.checks.filter((c) => !c.ok).map((c) => c.id);
    for (const id of ["criu.version", "criu.check", "criu.network-lock", "criu.inet-sockets", "runtime.runc", "runtime.crun", "runtime.any", "tools.conmon", "tools.network"]) {
      assert.ok(failed.includes(id), `${id} should fail`);
    }
    assert.match(check(report, "criu.version").fix!, /setup-host\.sh/);
    assert.match(check(report, "criu.check").fix!, /setup-host\.sh/);
    assert.match(check(report, "criu.inet-sockets").detail, /criu not found/);
    assert.match(check(report, "criu.inet-sockets").fix!, /setup-host\.sh/);
    assert.match(check(report, "criu.network-lock").fix!, /apt-get install iptables/);
    assert.deepEqual(report.runtimes, []);
  });
});

describe("single faults on an otherwise ready host", () => {
  test("Debian's CRIU 3.17 fails criu check on the vDSO: no runtime can checkpoint", () => {
    const facts = hostFacts("debian12-ready");
    facts.criu.version = "3.17.1";
    facts.criu.check = { ok: false, errorLines: ["Error (criu/vdso.c:381): vdso: Unexpected rt vDSO area bounds"] };
    const report = evaluateHost(facts);
    assert.equal(report.ok, false);
    assert.match(check(report, "criu.version").detail, /older than 4\.1/);
    assert.match(check(report, "criu.check").detail, /vDSO/);
    assert.match(check(report, "criu.check").fix!, /setup-host/);
    assert.ok(report.runtimes.every((r) => !r.checkpoint));
  });

  test("CRIU 4.1.1 on Linux >= 6.16 cannot dump inet sockets: a warning quoting CRIU's line and saying which containers it stops, fixed by setup-host or --criu", () => {
    const facts = hostFacts("debian12-ready");
    facts.criu = { ...facts.criu, requested: "/usr/local/lib/ckpt/criu-4.1.1/sbin/criu", path: "/usr/local/lib/ckpt/criu-4.1.1/sbin/criu", version: "4.1.1" };
    facts.criu.inetSockets = { ...inetDumpVerdict(1, fixtureText("criu/inet-probe/dump-criu-4.1.1-kernel-6.18.log")), cached: false };
    const report = evaluateHost(facts);
    const c = check(report, "criu.inet-sockets");
    assert.deepEqual([c.ok, c.severity], [false, "warning"]);
    assert.equal(c.detail, "criu 4.1.1 at /usr/local/lib/ckpt/criu-4.1.1/sbin/criu cannot dump inet sockets on kernel 6.18.44-fc-v657: Error (criu/sockets.c:628): sockets: Can't get 1:16 opt: Operation not supported; containers that hold a TCP or UDP socket (a listener included) cannot be checkpointed, others can");
    assert.match(c.fix!, /setup-host\.sh as root \(installs CRIU >= 4\.2.*\), or point --criu at CRIU >= 4\.2/);
    // CRIU 4.1.x works on this kernel otherwise (the runtime matrix runs it on containers without sockets).
    assert.equal(check(report, "criu.version").ok, true);
    assert.equal(report.ok, true);
    assert.ok(report.runtimes.every((r) => r.checkpoint));
  });

  test("the dump decides, not the version: a CRIU >= 4.2 that fails the inet probe is warned about, though its version would do", () => {
    const facts = hostFacts("debian12-ready");
    facts.criu.inetSockets = { ok: false, errorLines: ["Error (criu/sockets.c:640): sockets: Can't get 1:17 opt: Operation not supported"], cached: true };
    const report = evaluateHost(facts);
    assert.equal(check(report, "criu.version").ok, true);
    assert.match(check(report, "criu.inet-sockets").detail, /1:17 opt/);
    assert.deepEqual([check(report, "criu.inet-sockets").ok, report.ok], [false, true]);
  });

  test("an inet probe that could not run (helper not built) is a failed warning, and the fix builds the helper", () => {
    const facts = hostFacts("debian12-ready");
    facts.criu.inetSockets = null;
    const report = evaluateHost(facts);
    const c = check(report, "criu.inet-sockets");
    assert.equal(c.ok, false);
    assert.match(c.detail, /could not try dumping inet sockets with criu 4\.2\.1/);
    assert.match(c.fix!, /scripts\/build\.sh/);
    assert.equal(c.severity, "warning");
  });

  test("an answer from the per-boot cache says so", () => {
    const facts = hostFacts("debian12-ready");
    facts.criu.inetSockets = { ok: true, errorLines: [], cached: true };
    assert.match(check(evaluateHost(facts), "criu.inet-sockets").detail, /probed earlier this boot/);
  });

  test("a --criu path that is not an executable is named, with a fix about the flag", () => {
    const facts = hostFacts("debian12-ready");
    facts.criu = { ...facts.criu, requested: "/opt/criu/criu", path: null, version: null, check: null };
    const c = check(evaluateHost(facts), "criu.version");
    assert.equal(c.detail, "no executable criu at /opt/criu/criu (given with --criu)");
    assert.match(c.fix!, /--criu/);
  });

  test("a new CRIU that fails criu check asks the operator to read criu check", () => {
    const facts = hostFacts("debian12-ready");
    facts.criu.check = { ok: false, errorLines: [] };
    assert.match(check(evaluateHost(facts), "criu.check").fix!, /run `criu check`/);
  });

  test("Debian's crun without +CRIU: runc still works, crun is flagged with a fix", () => {
    const facts = hostFacts("debian12-ready");
    facts.runtimes[1] = { name: "crun", path: "/usr/bin/crun", version: "1.8.1", checkpointBuilt: false };
    const report = evaluateHost(facts);
    assert.equal(report.ok, true);
    assert.match(check(report, "runtime.crun").detail, /without checkpoint\/restore support/);
    assert.equal(report.runtimes.find((r) => r.name === "crun")?.checkpoint, false);
  });

  test("hybrid cgroups holding hugetlb in cgroup2 block crun but not runc", () => {
    const facts = hostFacts("debian12-ready");
    facts.cgroups.unifiedControllers = ["hugetlb"];
    const report = evaluateHost(facts);
    assert.equal(report.ok, true);
    assert.equal(check(report, "cgroups.layout").ok, false);
    assert.match(check(report, "cgroups.layout").fix!, /binds hugetlb/);
    assert.match(check(report, "runtime.crun").detail, /hybrid/);
    assert.deepEqual(report.runtimes.map((r) => r.checkpoint), [true, false]);
  });

  test("without iptables-restore no runtime can checkpoint", () => {
    const facts = hostFacts("debian12-ready");
    facts.tools.iptablesRestore = null;
    const report = evaluateHost(facts);
    assert.equal(report.ok, false);
    assert.match(check(report, "runtime.any").detail, /no OCI runtime/);
  });

  test("a kernel without CHECKPOINT_RESTORE fails even where CRIU's probe cannot say", () => {
    const facts = hostFacts("debian12-ready");
    facts.criu.check = { ok: false, errorLines: [] };
    facts.kernel.config!.CONFIG_CHECKPOINT_RESTORE = "n";
    const report = evaluateHost(facts);
    assert.equal(check(report, "kernel.checkpoint-restore").ok, false);
    assert.equal(report.ok, false);
  });

  test("CRIU's feature probes win over the kernel config; the config is the fallback", () => {
    const facts = hostFacts("debian12-ready");
    facts.criu.features["uffd-noncoop"] = false; // e.g. vm.unprivileged_userfaultfd or seccomp
    assert.equal(check(evaluateHost(facts), "kernel.userfaultfd").ok, false);
    facts.criu.features["uffd-noncoop"] = null;
    assert.equal(check(evaluateHost(facts), "kernel.userfaultfd").ok, true);
    facts.kernel.config = null;
    assert.equal(check(evaluateHost(facts), "kernel.userfaultfd").ok, false, "unknown is not ok");
  });

  test("no time namespaces is a warning, not a failure of the host", () => {
    const facts = hostFacts("debian12-ready");
    facts.criu.features.timens = false;
    const report = evaluateHost(facts);
    assert.equal(check(report, "kernel.time-namespace").ok, false);
    assert.equal(check(report, "kernel.time-namespace").severity, "warning");
    assert.equal(report.ok, true);
  });

  test("rlimit caveat names the hard limit to stay under; it is silent with CAP_SYS_RESOURCE", () => {
    const facts = hostFacts("debian12-ready");
    assert.match(check(evaluateHost(facts), "process.rlimits").fix!, /20000/);
    facts.process.capSysResource = true;
    assert.equal(check(evaluateHost(facts), "process.rlimits").ok, true);
  });

  test("migrate --lazy's pipes: 1 MiB fs.pipe-max-size without CAP_SYS_RESOURCE is a warning with the sysctl; 4 MiB or the capability passes; unknown is not checked", () => {
    const facts = hostFacts("debian12-ready");
    assert.equal(evaluateHost(facts).checks.some((c) => c.id === "process.pipe-max-size"), false, "facts recorded before the check carry no limit");
    facts.process.pipeMaxSize = 1048576;
    const low = check(evaluateHost(facts), "process.pipe-max-size");
    assert.deepEqual([low.ok, low.severity], [false, "warning"]);
    assert.match(low.detail, /fs.pipe-max-size is 1048576 bytes/);
    assert.match(low.fix!, /sysctl -w fs.pipe-max-size=4194304/);
    assert.equal(evaluateHost(facts).ok, true, "a warning: only post-copy needs it");
    facts.process.pipeMaxSize = 4194304;
    assert.equal(check(evaluateHost(facts), "process.pipe-max-size").ok, true);
    facts.process.pipeMaxSize = 1048576;
    facts.process.capSysResource = true;
    assert.equal(check(evaluateHost(facts), "process.pipe-max-size").ok, true);
  });

  test("a runtime whose version cannot be read is not assumed to join the time namespace", () => {
    const facts = hostFacts("debian12-ready");
    facts.runtimes[1]!.version = null;
    assert.equal(evaluateHost(facts).runtimes[1]!.execJoinsTimeNamespace, false);
  });

  test("configured runtimes: each under its own name with its one-clock facts; a configured binary that is no runtime is a warning", () => {
    const facts = hostFacts("debian12-ready");
    facts.runtimes.push({ name: "runc", label: "runc-1.3", path: "/usr/local/lib/ckpt/matrix/runc-1.3.6/sbin/runc", version: "1.3.6", checkpointBuilt: true });
    facts.unusableRuntimes = [{ name: "runc-old", path: "/opt/gone/runc", reason: "it cannot be run (missing or not executable)" }];
    const report = evaluateHost(facts);
    const newer = report.runtimes.find((r) => r.label === "runc-1.3")!;
    const older = report.runtimes.find((r) => r.label === "runc")!;
    assert.deepEqual([newer.name, newer.execJoinsTimeNamespace, newer.createsTimeNamespace, newer.checkpoint], ["runc", true, true, true]);
    assert.deepEqual([older.execJoinsTimeNamespace, older.createsTimeNamespace], [false, false]);
    assert.match(check(report, "runtime.runc-1.3.exec-timens").detail, /runc 1\.3\.6's exec joins a restored container's time namespace: ckpt relies on it/);
    assert.match(check(report, "runtime.runc.run-timens").detail, /cannot give a new container a time namespace/);
    const gone = check(report, "runtime.runc-old");
    assert.deepEqual([gone.ok, gone.severity], [false, "warning"]);
    assert.match(gone.detail, /configured as \/opt\/gone\/runc, but it cannot be run/);
    assert.match(check(report, "runtime.any").detail, /runc, crun, runc-1\.3/);
  });
});
