// Across the runtime matrix (scripts/setup-host.sh --matrix): a checkpoint made by one
// combination restored by another, on one clock; runtimes named per binary (the runtimes
// setting, --runtime-path, --criu) and kept by the container record; doctor with two
// runcs; exec without the runtime's capability warnings.
import assert from "node:assert/strict";
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { before, describe, test, type TestContext } from "node:test";
import { execa } from "execa";
import type { Manifest } from "../../src/checkpoint/manifest.ts";
import type { DoctorReport } from "../../src/doctor/evaluate.ts";
import { readContainerTasks } from "../../src/proc/container-tasks.ts";
import { createBusyboxBundle, inContainerShell } from "../harness/bundle.ts";
import { CkptRoot } from "../harness/ckpt-root.ts";
import { requireMatrixMember } from "../harness/matrix.ts";
import { requireRealHost } from "../harness/prerequisites.ts";
import { parseClockReports, waitFor, type ClockReport } from "../harness/reports.ts";
import { removeStaleSandboxes, Sandbox } from "../harness/sandbox.ts";

interface RestoreJson {
  runtime: string;
  runtimePath: string;
  warnings: string[];
  versions: { dumpedBy: { runtime: string; runtimeVersion: string; criuVersion: string }; restoredBy: { runtimeVersion: string; criuVersion: string }; oneClock: "runtime" | "ckpt" };
}

// A clock reporter run by ckpt under a config file naming the matrix's runc as runc-1.3.
async function setUp(t: TestContext, runtime: "runc" | "runc-1.3") {
  const sandbox = await Sandbox.create(t);
  const ckpt = new CkptRoot(sandbox);
  const newer = requireMatrixMember(t, "runc")!;
  const config = sandbox.path("config.json");
  await writeFile(config, JSON.stringify({ runtimes: { "runc-1.3": newer.path } }));
  const run = (args: string[]) => ckpt.run(["--config", config, ...args]);
  const ok = async (args: string[]) => {
    const r = await run(args);
    assert.equal(r.exitCode, 0, `ckpt ${args.join(" ")}: ${r.stderr}`);
    return r;
  };
  const bundle = await createBusyboxBundle(sandbox.path("bundle"), { args: ["/usr/bin/clock-reporter", "--interval-ms", "50"] });
  const started = await ok(["-v", "--runtime", runtime, "run", "-d", "--name", "clock", bundle]);
  const reports = async () => parseClockReports(String((await ok(["logs", "clock"])).stdout));
  const reportsAfter = (seq: number, n: number) =>
    waitFor(`${n} reports after #${seq}`, async () => {
      const later = (await reports()).filter((r) => r.seq > seq);
      return later.length >= n ? later : undefined;
    });
  await reportsAfter(0, 3);
  const checkpoint = async (args: string[] = []): Promise<Manifest> => {
    const [done] = JSON.parse(String((await ok([...args, "checkpoint", "clock", "--json"])).stdout)) as { checkpoint: string }[];
    return JSON.parse(await readFile(join(done!.checkpoint, "manifest.json"), "utf8")) as Manifest;
  };
  const restore = async (args: string[] = []): Promise<RestoreJson> => JSON.parse(String((await ok([...args, "restore", "clock", "--json"])).stdout)) as RestoreJson;
  // PID 1's reports go on, and a process started with ckpt exec reads the same clock.
  const oneClock = async (what: string) => {
    const last = (await reports()).at(-1)!;
    const exec = await ok(["exec", "clock", "--", "/usr/bin/clock-reporter", "--once"]);
    assert.doesNotMatch(String(exec.stderr), /can't raise ambient capability/, `${what}: no runtime warning on exec`);
    const [execReport] = parseClockReports(String(exec.stdout));
    const [next] = await reportsAfter(last.seq, 1);
    assert.ok(execReport && next);
    assert.equal(execReport.timens, next.timens, `${what}: the exec'd process is in PID 1's time namespace`);
    assert.ok(next.monoNs >= last.monoNs, `${what}: monotonic did not go back (${last.monoNs} -> ${next.monoNs})`);
    const pid1 = (JSON.parse(String((await ok(["ps", "--json"])).stdout)) as { pid: number }[])[0]!.pid;
    const namespaces = new Set((await readContainerTasks(pid1)).map((task) => task.timeNamespace));
    assert.equal(namespaces.size, 1, `${what}: every task in one time namespace`);
    return { last, execReport: execReport as ClockReport };
  };
  return { sandbox, ckpt, newer, run, ok, checkpoint, restore, oneClock, started };
}

describe("across the runtime matrix", () => {
  before(() => removeStaleSandboxes());

  test("runc 1.1.5 -> runc 1.3.x -> runc 1.1.5: each restore names who dumped and who restores, keeps one clock, and the record keeps the binary", async (t) => {
    if (!(await requireRealHost(t, "runc"))) return;
    const c = await setUp(t, "runc");
    const first = await c.checkpoint();
    assert.match(first.runtime.version, /^1\.1\./);
    assert.equal(first.timeNamespace.execJoinedBy, "ckpt", "runc 1.1.x's exec does not join: ckpt exec does it");

    const up = await c.restore(["--runtime", "runc-1.3"]);
    assert.deepEqual([up.runtimePath, up.versions.restoredBy.runtimeVersion, up.versions.oneClock], [c.newer.path, c.newer.version, "runtime"]);
    assert.ok(up.warnings.some((w) => w.includes(`runc ${first.runtime.version} dumped it, runc ${c.newer.version} (${c.newer.path}) restores it`)), up.warnings.join("\n"));
    await c.oneClock("on runc 1.3");

    // No --runtime: the binary the container now runs on dumps it, and restores it.
    const second = await c.checkpoint();
    assert.deepEqual([second.runtime.version, second.runtime.path, second.timeNamespace.execJoinedBy], [c.newer.version, c.newer.path, "runtime"]);
    const inspected = JSON.parse(String((await c.ok(["inspect", "--json", "clock"])).stdout)) as { timeNamespace: { execJoinedBy: string | null } };
    assert.equal(inspected.timeNamespace.execJoinedBy, "runtime");
    assert.match(String((await c.ok(["inspect", "clock"])).stdout), new RegExp(`exec'd: +kept in PID 1's namespace by runc ${c.newer.version.replace(/\./g, "\\.")}'s own exec`));
    const again = await c.restore();
    assert.deepEqual([again.runtimePath, again.warnings.filter((w) => w.includes("dumped it"))], [c.newer.path, []]);
    await c.checkpoint();

    const down = await c.restore(["--runtime-path", "/usr/sbin/runc"]);
    assert.deepEqual([down.runtimePath, down.versions.oneClock], ["/usr/sbin/runc", "ckpt"]);
    assert.match(down.versions.restoredBy.runtimeVersion, /^1\.1\./);
    await c.oneClock("back on runc 1.1");
  });

  test("a checkpoint CRIU 4.1.1 dumped restores with CRIU 4.2, said in the warning, state and clock intact", async (t) => {
    if (!(await requireRealHost(t, "runc"))) return;
    const criu = requireMatrixMember(t, "criu");
    if (criu === null) return;
    const c = await setUp(t, "runc");
    const manifest = await c.checkpoint(["--criu", criu.path]);
    assert.equal(manifest.criuVersion, criu.version);
    const r = await c.restore();
    assert.notEqual(r.versions.restoredBy.criuVersion, criu.version);
    assert.ok(r.warnings.some((w) => w.includes(`CRIU ${criu.version} dumped it, CRIU ${r.versions.restoredBy.criuVersion} restores it`)), r.warnings.join("\n"));
    const { last, execReport } = await c.oneClock("after CRIU 4.1.1 -> 4.2");
    assert.ok(last.seq >= 3 && execReport.seq === 0, `PID 1's counter went on (seq ${last.seq}), the exec'd reporter started its own (seq ${execReport.seq})`);
    // And a --criu that is not there is refused before anything happens.
    const refused = await c.run(["--criu", "/nonexistent/criu", "checkpoint", "clock"]);
    assert.equal(refused.exitCode, 2);
    assert.match(String(refused.stderr), /--criu \/nonexistent\/criu: no executable file there/);
    assert.equal((JSON.parse(String((await c.ok(["ps", "--json"])).stdout)) as { status: string }[])[0]!.status, "running");
  });

  test("CRIU 4.1.1 and a container holding a TCP listener: refused before anything is frozen, naming the listener and CRIU's reason; the container keeps serving", async (t) => {
    if (!(await requireRealHost(t, "runc"))) return;
    const criu = requireMatrixMember(t, "criu");
    if (criu === null || criu.inetSockets !== false) return;
    const sandbox = await Sandbox.create(t);
    const ckpt = new CkptRoot(sandbox);
    const bundle = await createBusyboxBundle(sandbox.path("bundle"), { args: inContainerShell("/usr/bin/tcp-echo serve 8080") });
    await ckpt.ok(["run", "-d", "--name", "srv", "--network", "none", bundle]);
    const pid = (await ckpt.json<{ pid: number }[]>(["ps"]))[0]!.pid;
    await waitFor("the listener", async () => ((await readFile(`/proc/${pid}/net/tcp`, "utf8")).includes(":1F90 00000000:0000 0A") ? true : undefined));
    const r = await ckpt.run(["--criu", criu.path, "checkpoint", "srv"]);
    assert.equal(r.exitCode, 5, String(r.stderr));
    assert.match(String(r.stderr), /criu 4\.1\.1 at .* cannot dump inet sockets on this kernel, and it holds 1/);
    assert.match(String(r.stderr), /TCP listener 0\.0\.0\.0:8080/);
    assert.match(String(r.stderr), /Can't get 1:16 opt/);
    const after = (await ckpt.json<{ status: string; pid: number }[]>(["ps"]))[0]!;
    assert.deepEqual([after.status, after.pid], ["running", pid], "the same PID 1 runs on, never frozen or restarted");
    assert.equal((await readFile(`/proc/${pid}/status`, "utf8")).match(/^State:\s+(\S)/m)?.[1] !== "T", true);
    assert.deepEqual(await readdir(join(ckpt.root, "checkpoints", "srv")).catch(() => []), [], "no checkpoint, no partial directory");
  });

  test("exec on runc 1.3 of a bundle from runc 1.1.5's `runc spec`: no ambient-capability warning, the change said once with -v (plain runc exec with the bundle's process warns)", async (t) => {
    if (!(await requireRealHost(t, "runc"))) return;
    const c = await setUp(t, "runc-1.3");
    assert.match(String(c.started.stderr), /ckpt: note: spec: left out the ambient capabilities CAP_AUDIT_WRITE, CAP_KILL, CAP_NET_BIND_SERVICE/);
    const exec = await c.ok(["exec", "clock", "--", "true"]);
    assert.equal(String(exec.stderr), "");
    // The wart is real: runc 1.3 itself warns for the bundle's own process.
    const bundleSpec = JSON.parse(await readFile(c.sandbox.path("bundle", "config.json"), "utf8")) as { process: Record<string, unknown> };
    await writeFile(c.sandbox.path("process.json"), JSON.stringify({ ...bundleSpec.process, args: ["true"] }));
    const id = (JSON.parse(String((await c.ok(["ps", "--json"])).stdout)) as { id: string }[])[0]!.id;
    const plain = await execa(c.newer.path, ["--root", join(c.ckpt.root, "runtime", "runc"), "exec", "--process", c.sandbox.path("process.json"), id], { reject: false });
    assert.match(String(plain.stderr), /can't raise ambient capability CAP_AUDIT_WRITE/);
  });

  test("ckpt doctor with two runcs configured lists both with their one-clock facts; an unknown --runtime is refused naming the configured ones", async (t) => {
    if (!(await requireRealHost(t, "runc"))) return;
    const c = await setUp(t, "runc");
    const report = JSON.parse(String((await c.ok(["doctor", "--json"])).stdout)) as DoctorReport;
    const byLabel = Object.fromEntries(report.runtimes.map((r) => [r.label, r]));
    assert.deepEqual([byLabel["runc"]?.execJoinsTimeNamespace, byLabel["runc"]?.createsTimeNamespace], [false, false]);
    assert.deepEqual([byLabel["runc-1.3"]?.version, byLabel["runc-1.3"]?.execJoinsTimeNamespace, byLabel["runc-1.3"]?.createsTimeNamespace, byLabel["runc-1.3"]?.checkpoint], [c.newer.version, true, true, true]);
    const text = String((await c.ok(["doctor"])).stdout);
    assert.match(text, new RegExp(`runc-1\\.3 +runc ${c.newer.version.replace(/\./g, "\\.")} +yes +yes \\(runtime\\) +yes`));
    const unknown = await c.run(["--runtime", "runc-9", "run", "-d", "--name", "x", c.sandbox.path("bundle")]);
    assert.equal(unknown.exitCode, 2);
    assert.match(String(unknown.stderr), /unknown runtime "runc-9"[\s\S]*runc, crun, runc-1\.3/);
  });
});
