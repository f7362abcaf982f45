// Runs the integration tests that carry ckpt's core promises once per combination of the
// runtime matrix (scripts/setup-host.sh --matrix), after scripts/test.sh has run the whole
// suite on the default one (the system's runc, crun and the installed CRIU), and prints
// a table: combination x test file, pass or fail.
//
// A combination is given to ckpt the way an operator would: CKPT_RUNTIMES names the runc
// binary, CKPT_CRIU the CRIU (ckpt puts its directory first on PATH); the tests' own
// direct runtime calls follow the same settings (test/harness/matrix.ts). A CRIU that
// cannot dump inet sockets on this kernel does not run the networked tests.
//
// Usage: node test/matrix/run.ts [--list]. Exit 0 when every run passed.
import { spawn } from "node:child_process";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { criuVersion, MATRIX_FILE, readMatrix, runtimeVersion, type MatrixMember } from "../harness/matrix.ts";
import { integrationRequired } from "../harness/prerequisites.ts";
import { renderTable } from "../../src/output/table.ts";

const repo = fileURLToPath(new URL("../..", import.meta.url));

// The core: run/checkpoint/restore/exec on one clock, the daemon after a restore, every
// --time-mode, the runtime's own checkpoint, export/import, migrate (streaming and
// --lazy), checkpoint --all / restore --all.
export const CORE_FILES = [
  "test/integration/one-clock.test.ts",
  "test/integration/runtime-smoke.test.ts",
  "test/integration/archive.test.ts",
  "test/integration/migrate.test.ts",
  "test/integration/recovery.test.ts",
];
// Only where the combination's CRIU dumps inet sockets.
export const SOCKET_FILES = ["test/integration/network.test.ts"];

export interface Combination {
  name: string;
  env: Record<string, string>;
  // The runtimes whose tests run (a combination that changes only runc covers runc).
  runtimes: string[];
  inetSockets: boolean;
}

// Pure: the combinations beside the default one, from the matrix's members.
export function combinations(members: readonly MatrixMember[], defaults: { runc: string; criu: string; crun: string }, pathEnv: string): Combination[] {
  const runc = members.find((m) => m.kind === "runc");
  const criu = members.find((m) => m.kind === "criu");
  const out: Combination[] = [];
  const withCriu = (c: MatrixMember) => ({ CKPT_CRIU: c.path, PATH: `${dirname(c.path)}:${pathEnv}` });
  if (runc !== undefined) {
    out.push({ name: `runc ${runc.version} + CRIU ${defaults.criu}`, env: { CKPT_RUNTIMES: `runc=${runc.path}` }, runtimes: ["runc"], inetSockets: true });
    if (criu !== undefined) out.push({ name: `runc ${runc.version} + CRIU ${criu.version}`, env: { CKPT_RUNTIMES: `runc=${runc.path}`, ...withCriu(criu) }, runtimes: ["runc"], inetSockets: criu.inetSockets !== false });
  }
  if (criu !== undefined) out.push({ name: `runc ${defaults.runc} and crun ${defaults.crun} + CRIU ${criu.version}`, env: withCriu(criu), runtimes: ["runc", "crun"], inetSockets: criu.inetSockets !== false });
  return out;
}

interface Outcome {
  combination: string;
  file: string;
  pass: number;
  fail: number;
  skipped: number;
  exitCode: number;
  seconds: number;
}

function runFile(c: Combination, file: string): Promise<Outcome> {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["--test", "--test-concurrency=1", "--test-reporter=spec", file], {
      cwd: repo,
      env: { ...process.env, ...c.env, CKPT_TEST_COMBINATION: c.name, CKPT_TEST_RUNTIMES: c.runtimes.join(","), CKPT_TEST_INET_SOCKETS: c.inetSockets ? "1" : "0" },
      stdio: ["ignore", "pipe", "inherit"],
    });
    let tail = "";
    child.stdout.on("data", (chunk: Buffer) => {
      process.stdout.write(chunk);
      tail = (tail + chunk.toString()).slice(-4000);
    });
    child.on("close", (code) => {
      const count = (what: string) => Number(new RegExp(`^ℹ ${what} (\\d+)`, "m").exec(tail)?.[1] ?? 0);
      resolve({ combination: c.name, file, pass: count("pass"), fail: count("fail"), skipped: count("skipped"), exitCode: code ?? 1, seconds: (Date.now() - started) / 1000 });
    });
  });
}

async function main(): Promise<number> {
  const members = readMatrix();
  if (members === null) {
    const message = `runtime matrix: not set up (${MATRIX_FILE} missing): run scripts/setup-host.sh --matrix as root`;
    if (integrationRequired()) {
      process.stderr.write(`${message}\n`);
      return 1;
    }
    process.stdout.write(`${message}; the matrix runs are skipped\n`);
    return 0;
  }
  const defaults = { runc: runtimeVersion("runc"), crun: runtimeVersion("crun"), criu: criuVersion() };
  const all = combinations(members, defaults, process.env["PATH"] ?? "");
  if (process.argv.includes("--list")) {
    for (const c of all) process.stdout.write(`${c.name}: ${[...CORE_FILES, ...(c.inetSockets ? SOCKET_FILES : [])].join(" ")}\n`);
    return 0;
  }
  const outcomes: Outcome[] = [];
  for (const c of all) {
    const files = [...CORE_FILES, ...(c.inetSockets ? SOCKET_FILES : [])];
    process.stdout.write(`\n=== runtime matrix: ${c.name} (${c.runtimes.join(", ")}${c.inetSockets ? "" : "; its CRIU cannot dump inet sockets on this kernel: no networked tests"}) ===\n`);
    for (const file of files) outcomes.push(await runFile(c, file));
    if (!c.inetSockets) for (const file of SOCKET_FILES) outcomes.push({ combination: c.name, file, pass: 0, fail: 0, skipped: 0, exitCode: -1, seconds: 0 });
  }
  const verdict = (o: Outcome) => (o.exitCode === -1 ? "not run (no inet sockets)" : o.exitCode === 0 && o.fail === 0 ? `pass ${o.pass}${o.skipped ? `, skip ${o.skipped}` : ""}` : `FAIL ${o.fail} of ${o.pass + o.fail}`);
  const rows = [["COMBINATION", "TESTS", "RESULT", "SECONDS"], ...outcomes.map((o) => [o.combination, o.file.replace("test/integration/", ""), verdict(o), o.seconds.toFixed(0)])];
  process.stdout.write(`\n=== runtime matrix summary (the default combination ran the whole suite before) ===\n${renderTable(rows, { alignRight: [3] }).join("\n")}\n`);
  return outcomes.every((o) => o.exitCode === 0 || o.exitCode === -1) ? 0 : 1;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) process.exitCode = await main();
