// `ckpt doctor` on this real host, and on the same host with its tools hidden in a
// private mount namespace (what a fresh machine looks like before scripts/setup-host.sh).
import assert from "node:assert/strict";
import { test } from "node:test";
import { copyFile, mkdtemp, rm } from "node:fs/promises";
import { release, tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import type { DoctorReport } from "../../src/doctor/evaluate.ts";
import { gatherHostFacts } from "../../src/doctor/host-facts.ts";
import { findExecutable } from "../../src/host/find-executable.ts";
import { probeCount } from "../../src/host/probe-command.ts";
import { ckptBin, runCkpt } from "../harness/cli.ts";
import { requireRealHost } from "../harness/prerequisites.ts";
import { requireMatrixMember } from "../harness/matrix.ts";

test("ckpt doctor --json on a set-up host: ok, both runtimes checkpoint-capable, exit 0", async (t) => {
  if (!(await requireRealHost(t, "runc")) || !(await requireRealHost(t, "crun"))) return;
  const r = await runCkpt(["doctor", "--json"]);
  assert.equal(r.exitCode, 0, String(r.stderr));
  const report = JSON.parse(String(r.stdout)) as DoctorReport;
  assert.equal(report.ok, true);
  assert.deepEqual(Object.keys(report).sort(), ["checks", "criu", "ok", "runtimes"]);
  assert.match(report.criu.version ?? "", /^\d+\.\d+/);
  assert.deepEqual(report.runtimes.map((rt) => [rt.name, rt.checkpoint]), [["runc", true], ["crun", true]]);
  for (const check of report.checks) {
    assert.deepEqual(Object.keys(check).sort(), ["detail", "fix", "id", "ok", "severity"]);
  }
  const inet = report.checks.find((c) => c.id === "criu.inet-sockets");
  assert.equal(inet?.ok, true, inet?.detail);
  assert.match(inet.detail, /dumps TCP and UDP sockets on kernel /);
});

test("ckpt doctor --criu CRIU-4.1.1 (the runtime matrix's) on Linux >= 6.16: criu.inet-sockets fails as a warning quoting CRIU and naming what it stops, with a fix; the host can still checkpoint (exit 0)", async (t) => {
  if (!(await requireRealHost(t, "runc"))) return;
  const member = requireMatrixMember(t, "criu");
  if (member === null) return;
  const keptCriu = member.path;
  const [major, minor] = release().split(".").map(Number) as [number, number];
  if (major < 6 || (major === 6 && minor < 16)) {
    t.skip("CRIU 4.1.1 dumps inet sockets on kernels before 6.16");
    return;
  }
  // A copy at a new path, so the per-boot cache has no answer: the probe really dumps.
  const dir = await mkdtemp(join(tmpdir(), "ckpt-doctor-test-"));
  try {
    const criu = join(dir, "criu");
    await copyFile(keptCriu, criu);
    const r = await runCkpt(["doctor", "--json", "--criu", criu]);
    assert.equal(r.exitCode, 0, String(r.stderr));
    const report = JSON.parse(String(r.stdout)) as DoctorReport;
    assert.equal(report.ok, true);
    assert.deepEqual(report.criu, { path: criu, version: "4.1.1" });
    const inet = report.checks.find((c) => c.id === "criu.inet-sockets");
    assert.ok(inet);
    assert.deepEqual([inet.ok, inet.severity], [false, "warning"]);
    assert.match(inet.detail, /cannot dump inet sockets on kernel .*: Error \(criu\/sockets\.c:\d+\): sockets: Can't get 1:16 opt: Operation not supported; containers that hold a TCP or UDP socket \(a listener included\) cannot be checkpointed, others can$/);
    assert.match(inet.fix ?? "", /setup-host\.sh.*CRIU >= 4\.2.*--criu at CRIU >= 4\.2/);
    // The same question again is answered from the cache, the same way.
    const again = JSON.parse(String((await runCkpt(["doctor", "--json", "--criu", criu])).stdout)) as DoctorReport;
    assert.equal(again.checks.find((c) => c.id === "criu.inet-sockets")?.detail, inet.detail);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("ckpt doctor before set-up names each missing piece with its fix and exits 3", async (t) => {
  if (!(await requireRealHost(t, "runc"))) return;
  // Hide every copy of the tools set-up installs, only inside a private mount namespace.
  const tools = ["criu", "runc", "crun", "iptables-restore", "conmon"];
  const hidden = new Set<string>();
  for (const tool of tools) {
    for (const dir of ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"]) {
      const path = findExecutable(`${dir}/${tool}`);
      if (path !== null) hidden.add(path);
    }
  }
  const script = [...hidden].map((p) => `mount --bind /dev/null '${p}'`).join(" && ");
  const r = await execa("unshare", ["--mount", "--propagation", "private", "sh", "-c", `${script} && exec '${ckptBin}' doctor --no-color`], {
    reject: false,
    env: { CKPT_NODE: process.execPath },
  });
  assert.equal(r.exitCode, 3, String(r.stderr));
  const out = String(r.stdout);
  assert.match(out, /cannot checkpoint and restore containers yet/);
  assert.match(out, /FAIL\s+criu\.version\s+criu not found\n\s+fix: run scripts\/setup-host\.sh as root/);
  assert.match(out, /warn\s+criu\.inet-sockets\s+criu not found[^\n]*\n\s+fix: run scripts\/setup-host\.sh as root/);
  assert.match(out, /runc not found\n\s+fix: run scripts\/setup-host\.sh/);
  assert.match(out, /crun not found/);
  assert.match(out, /iptables-restore not found[^\n]*\n\s+fix: apt-get install iptables/);
  assert.match(out, /conmon not found[^\n]*\n\s+fix: apt-get install conmon/);
  // Nothing leaked out of the namespace: the host still sees its tools.
  assert.ok(findExecutable("criu") !== null);
});

test("ckpt doctor --facts prints the paths it probed", async (t) => {
  if (!(await requireRealHost(t, "runc"))) return;
  const r = await runCkpt(["doctor", "--facts"]);
  assert.equal(r.exitCode, 0);
  const facts = JSON.parse(String(r.stdout)) as { criu: { path: string }; runtimes: { name: string; path: string }[] };
  assert.equal(facts.criu.path, findExecutable("criu"));
  assert.deepEqual(facts.runtimes.map((rt) => rt.path), [findExecutable("runc"), findExecutable("crun")]);
});

test("gathering host facts asks each binary each question once per process", async (t) => {
  if (!(await requireRealHost(t, "runc"))) return;
  await gatherHostFacts();
  const afterFirst = probeCount();
  // criu --version, criu check, four criu check --feature, runc --version, crun --version
  assert.ok(afterFirst >= 8, `expected at least 8 distinct probes, saw ${afterFirst}`);
  await gatherHostFacts();
  assert.equal(probeCount(), afterFirst, "a second gathering started no new probe");
});

test("usage errors exit 2 at every level; an unusable --criu path exits 3 and is named", async () => {
  for (const args of [["frobnicate"], ["doctor", "--bogus"]]) {
    const r = await runCkpt(args);
    assert.equal(r.exitCode, 2, `ckpt ${args.join(" ")}: ${String(r.stderr)}`);
    assert.match(String(r.stderr), /error: .*\n\(run with --help for usage\)/);
  }
  // A runtime name that is neither a kind nor configured, whatever the command.
  for (const args of [["--runtime", "podman", "doctor"], ["--runtime", "podman", "ps"]]) {
    const r = await runCkpt(args);
    assert.equal(r.exitCode, 2, `ckpt ${args.join(" ")}: ${String(r.stderr)}`);
    assert.match(String(r.stderr), /error: unknown runtime "podman"\nhint: use one of runc, crun/);
  }
  const r = await runCkpt(["doctor", "--criu", "/nonexistent/criu"]);
  assert.equal(r.exitCode, 3);
  assert.match(String(r.stdout), /no executable criu at \/nonexistent\/criu \(given with --criu\)/);
});
