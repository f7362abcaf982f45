// The runtime matrix (scripts/setup-host.sh --matrix builds it; test/matrix/run.ts runs
// the core integration tests once per combination) as the tests see it.
//
// A combination reaches a test process through ckpt's own settings, as an operator
// would give them: CKPT_RUNTIMES names the runtime binaries, CKPT_CRIU the CRIU. ckpt,
// the harness's direct runtime calls and the in-process doctor verdict all follow them.
// CKPT_TEST_COMBINATION names the combination, CKPT_TEST_RUNTIMES the runtimes it covers,
// CKPT_TEST_INET_SOCKETS=0 says its CRIU cannot dump inet sockets.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { parseCriuVersion } from "../../src/criu/version.ts";
import { findExecutable } from "../../src/host/find-executable.ts";
import { runtimeAdapter } from "../../src/runtimes/index.ts";
import { runtimeNames, type RuntimeName } from "../../src/runtimes/runtime.ts";
import type { TestContext } from "node:test";
import { configuredRuntimePaths, integrationRequired } from "./prerequisites.ts";

export const MATRIX_FILE = `${process.env["CKPT_PREFIX"] ?? "/usr/local"}/lib/ckpt/matrix/matrix.json`;

export interface MatrixMember {
  name: string;
  kind: "runc" | "crun" | "criu";
  version: string;
  path: string;
  inetSockets?: boolean;
}

// The members setup-host.sh --matrix built, or null when it has not run.
export function readMatrix(): MatrixMember[] | null {
  try {
    return (JSON.parse(readFileSync(MATRIX_FILE, "utf8")) as { members: MatrixMember[] }).members;
  } catch {
    return null;
  }
}

// The matrix's member of `kind`; fails the test where integration is required, else skips.
export function requireMatrixMember(t: TestContext, kind: MatrixMember["kind"]): MatrixMember | null {
  const member = readMatrix()?.find((m) => m.kind === kind) ?? null;
  if (member !== null) return member;
  const message = `no ${kind} in the runtime matrix (${MATRIX_FILE}): run scripts/setup-host.sh --matrix as root`;
  if (integrationRequired()) throw new Error(message);
  t.skip(message);
  return null;
}

// The binary of `kind` in this run: the configured one, else the one on PATH.
export function runtimeBinary(kind: RuntimeName): string {
  return configuredRuntimePaths()[kind] ?? findExecutable(runtimeAdapter(kind).binary) ?? kind;
}

export function criuBinary(): string {
  return process.env["CKPT_CRIU"] || (findExecutable("criu") ?? "criu");
}

// The runtimes this run covers: all, or the combination's.
export function testedRuntimes(): RuntimeName[] {
  const named = (process.env["CKPT_TEST_RUNTIMES"] ?? "").split(",").filter((n): n is RuntimeName => (runtimeNames as readonly string[]).includes(n));
  return named.length > 0 ? named : [...runtimeNames];
}

export function combinationDumpsInetSockets(): boolean {
  return process.env["CKPT_TEST_INET_SOCKETS"] !== "0";
}

const versions = new Map<string, string>();
// What `binary --version` says, parsed; "?" when it cannot be read. Asked once per binary,
// synchronously, so that describe() titles can carry it.
function versionOf(binary: string, parse: (out: string) => string | null): string {
  let version = versions.get(binary);
  if (version === undefined) {
    try {
      version = parse(execFileSync(binary, ["--version"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] })) ?? "?";
    } catch {
      version = "?";
    }
    versions.set(binary, version);
  }
  return version;
}

// The versions of this run's runtime of `kind` and of its CRIU.
export function runtimeVersion(kind: RuntimeName): string {
  return versionOf(runtimeBinary(kind), (o) => runtimeAdapter(kind).parseVersion(o).version);
}
export function criuVersion(): string {
  return versionOf(criuBinary(), parseCriuVersion);
}

// "runc 1.3.6 + CRIU 4.1.1": what a test title names.
export function combinationLabel(kind: RuntimeName): string {
  return `${kind} ${runtimeVersion(kind)} + CRIU ${criuVersion()}`;
}

// The combination of a test process that covers no particular runtime (runc's, by default).
export function combinationName(): string {
  return process.env["CKPT_TEST_COMBINATION"] ?? combinationLabel("runc");
}
