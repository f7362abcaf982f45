// Integration tests need a real checkpoint/restore host. In CI (CI=true) or with
// CKPT_REQUIRE_INTEGRATION=1 a missing prerequisite fails the test; elsewhere the test
// is skipped with the reason, so a developer sees what to install.
import type { TestContext } from "node:test";
import { execa } from "execa";
import { evaluateHost, type DoctorReport } from "../../src/doctor/evaluate.ts";
import { gatherHostFacts } from "../../src/doctor/host-facts.ts";
import { findExecutable } from "../../src/host/find-executable.ts";
import { SETTINGS } from "../../src/config/settings.ts";
import { runtimeNames, type RuntimeName } from "../../src/runtimes/runtime.ts";

export function integrationRequired(): boolean {
  return process.env["CI"] === "true" || process.env["CKPT_REQUIRE_INTEGRATION"] === "1";
}

// The runtime binaries this run's settings name (CKPT_RUNTIMES, NAME=PATH,...: a
// combination of the runtime matrix, test/harness/matrix.ts).
// Read with ckpt's own setting schema, so the tests see exactly what ckpt does.
export function configuredRuntimePaths(): Readonly<Record<string, string>> {
  return SETTINGS.runtimes.schema.parse(process.env["CKPT_RUNTIMES"] ?? "");
}

let report: Promise<DoctorReport> | undefined;
// ckpt's own doctor verdict on this host, computed once per test process, for the CRIU
// and runtimes this run's settings name.
export function hostReport(): Promise<DoctorReport> {
  const paths = configuredRuntimePaths();
  report ??= gatherHostFacts({ criuPath: process.env["CKPT_CRIU"] || undefined, runtimes: runtimeNames.map((name) => ({ name, path: paths[name] })) }).then(evaluateHost);
  return report;
}

// What is missing for real containers on `runtime`, in words; empty when nothing is.
export async function missingPrerequisites(runtime: RuntimeName): Promise<string[]> {
  const missing: string[] = [];
  if (process.getuid?.() !== 0) missing.push("root (containers, CRIU and cgroups need it)");
  for (const tool of ["gcc", "busybox"]) if (findExecutable(tool) === null) missing.push(tool);
  const r = await hostReport();
  if (!r.runtimes.some((rt) => rt.name === runtime && rt.checkpoint)) {
    const why = r.checks.filter((c) => !c.ok && (c.id.startsWith(`runtime.${runtime}`) || c.severity === "error")).map((c) => c.detail);
    missing.push(`${runtime} able to checkpoint (${why.join("; ") || "see ckpt doctor"})`);
  }
  return missing;
}

// True when the test can go on; otherwise skips it, or fails it where integration is required.
export async function requireRealHost(t: TestContext, runtime: RuntimeName): Promise<boolean> {
  const missing = await missingPrerequisites(runtime);
  if (missing.length === 0) return true;
  const message = `integration prerequisites missing for ${runtime}: ${missing.join(", ")} (run scripts/setup-host.sh as root)`;
  if (integrationRequired()) throw new Error(message);
  t.skip(message);
  return false;
}

// For tests that need root but no runtime (the import attack tests): true when root;
// otherwise skips, or fails where integration is required.
export function requireRoot(t: TestContext, why = "the import tests need root"): boolean {
  if (process.getuid?.() === 0) return true;
  if (integrationRequired()) throw new Error(why);
  t.skip("needs root");
  return false;
}

// podman, the reference peer, for the tests of its archives: a failure in CI, a skip elsewhere.
export async function requirePodman(t: TestContext): Promise<boolean> {
  if (!(await requireRealHost(t, "runc"))) return false;
  const podman = await execa("podman", ["--version"], { reject: false });
  if (podman.exitCode === 0) return true;
  if (integrationRequired()) throw new Error("podman is not installed (scripts/setup-host.sh installs it): it is the reference peer");
  t.skip("podman is not installed");
  return false;
}
