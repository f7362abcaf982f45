// ckpt's heart, on real runc and crun with real CRIU: run, checkpoint, restore and exec
// keep a container on one clock, cycle after cycle, and refuse what would lose it.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { cp, readdir, readFile, truncate } from "node:fs/promises";
import { join } from "node:path";
import { before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { execa } from "execa";
import { readContainerTasks } from "../../src/proc/container-tasks.ts";
import { execJoinsTimeNamespace, type RuntimeName } from "../../src/runtimes/runtime.ts";
import { runc as runcAdapter } from "../../src/runtimes/runc.ts";
import { createBusyboxBundle } from "../harness/bundle.ts";
import { CkptRoot } from "../harness/ckpt-root.ts";
import { requireRealHost } from "../harness/prerequisites.ts";
import { parseClockReports, waitFor, type ClockReport } from "../harness/reports.ts";
import { removeStaleSandboxes, Sandbox } from "../harness/sandbox.ts";
import { combinationLabel, combinationName, runtimeBinary, testedRuntimes } from "../harness/matrix.ts";

const MS = 1_000_000n;

interface PsEntry {
  name: string;
  status: string;
  pid: number | null;
}

// A clock reporter container run by ckpt; its reports arrive through `ckpt logs`.
async function clockContainer(t: { after: (fn: () => Promise<void>) => void }, runtime: RuntimeName) {
  const sandbox = await Sandbox.create(t);
  const ckpt = new CkptRoot(sandbox);
  const bundle = await createBusyboxBundle(sandbox.path("bundle"), { args: ["/usr/bin/clock-reporter", "--interval-ms", "50"] });
  await ckpt.ok(["--runtime", runtime, "run", "-d", "--name", "clock", bundle]);
  const reports = async () => parseClockReports(String((await ckpt.ok(["logs", "clock"])).stdout));
  const reportsAfter = (seq: number, n: number) =>
    waitFor(`${n} reports after #${seq}`, async () => {
      const later = (await reports()).filter((r) => r.seq > seq);
      return later.length >= n ? later : undefined;
    });
  await reportsAfter(0, 3);
  const ps = async () => (await ckpt.json<PsEntry[]>(["ps", "-a"])).find((c) => c.name === "clock")!;
  return { sandbox, ckpt, bundle, reports, reportsAfter, ps };
}

// One report from a process started with `ckpt exec`.
async function execReport(ckpt: CkptRoot, name: string): Promise<ClockReport> {
  const [report] = parseClockReports(String((await ckpt.ok(["exec", name, "--", "/usr/bin/clock-reporter", "--once"])).stdout));
  assert.ok(report, "the exec'd clock reporter printed a report");
  return report;
}

for (const runtime of testedRuntimes()) {
  describe(`${combinationLabel(runtime)}: one clock through ckpt`, () => {
    before(() => removeStaleSandboxes());

    test("run, checkpoint, restore, exec: PID 1 and the exec'd process share the time namespace and read clocks within 50 ms", async (t) => {
      if (!(await requireRealHost(t, runtime))) return;
      const c = await clockContainer(t, runtime);
      await c.ckpt.ok(["checkpoint", "clock"]);
      assert.equal((await c.ps()).status, "checkpointed");
      await sleep(500);
      await c.ckpt.ok(["restore", "--time-mode", "continue", "clock"]);
      const last = (await c.reports()).at(-1)!;
      const exec = await execReport(c.ckpt, "clock");
      const pid1 = (await c.reportsAfter(last.seq, 1))[0]!;
      assert.equal(exec.timens, pid1.timens, "same time namespace inode");
      // Both read monotonic and realtime; on one clock, monotonic minus realtime agrees.
      const skewNs = exec.monoNs - exec.realNs - (pid1.monoNs - pid1.realNs);
      assert.ok((skewNs < 0n ? -skewNs : skewNs) < 50n * MS, `monotonic skew ${skewNs} ns between PID 1 and the exec'd process`);
    });

    test("the fact-2 scenario: a daemon started with ckpt exec after a restore survives the next checkpoint and restore, all tasks in one time namespace", async (t) => {
      if (!(await requireRealHost(t, runtime))) return;
      const c = await clockContainer(t, runtime);
      await c.ckpt.ok(["checkpoint", "clock"]);
      await c.ckpt.ok(["restore", "--time-mode", "continue", "clock"]);
      const exec = await c.ckpt.run(["exec", "clock", "--", "sh", "-c", "sleep 1000 &"], { timeout: 10_000 });
      assert.equal(exec.exitCode, 0, `ckpt exec returned while the daemon holds its output: ${exec.stderr}`);
      await c.ckpt.ok(["checkpoint", "clock"]);
      await c.ckpt.ok(["restore", "clock"]);
      const { pid } = await c.ps();
      assert.ok(pid !== null);
      const tasks = await readContainerTasks(pid);
      assert.ok(tasks.some((task) => task.command === "sleep 1000"), `the sleep survived: ${tasks.map((x) => x.command).join(", ")}`);
      assert.deepEqual([...new Set(tasks.map((task) => task.timeNamespace))], [tasks[0]!.timeNamespace], "one time namespace");
      assert.notEqual((await c.ps()).status, "exited");
    });

    test("five cycles under each time mode: monotonic never goes back, suspend counts the downtime, no log line lost", async (t) => {
      if (!(await requireRealHost(t, runtime))) return;
      const c = await clockContainer(t, runtime);
      for (const mode of ["host", "suspend", "continue", "auto", "suspend"] as const) {
        await c.ckpt.ok(["checkpoint", "clock"]);
        // The monitor may still be writing the last line to the log when the checkpoint
        // returns; the downtime is spent before reading it.
        await sleep(1000);
        const lastBefore = (await c.reports()).at(-1)!;
        const restored = await c.ckpt.json<{ timeMode: string; clockPlan: string }>(["restore", "--time-mode", mode, "clock"]);
        assert.equal(restored.timeMode, mode);
        const after = await c.reportsAfter(lastBefore.seq, 4);
        assert.ok(after[0]!.seq === lastBefore.seq + 1, `report #${lastBefore.seq + 1} follows #${lastBefore.seq} (${mode})`);
        // A line the reporter wrote just before the freeze may still sit in its stdout pipe:
        // CRIU restores it with the pipe, so it reaches the log after the restore. The pair
        // of consecutive reports that spans the downtime is the one with the largest real gap.
        const chain = [lastBefore, ...after];
        for (let i = 1; i < chain.length; i++) {
          assert.ok(chain[i]!.monoNs > chain[i - 1]!.monoNs, `monotonic went on under ${mode}: ${chain[i - 1]!.monoNs} -> ${chain[i]!.monoNs}`);
          assert.equal(chain[i]!.backwards, 0, `the reporter never saw monotonic go back (${mode})`);
        }
        const spans = chain.slice(1).map((next, i) => ({ before: chain[i]!, next }));
        const { before, next } = spans.reduce((a, b) => (b.next.realNs - b.before.realNs > a.next.realNs - a.before.realNs ? b : a));
        const realGap = next.realNs - before.realNs;
        const bootGap = next.bootNs - before.bootNs;
        const monoGap = next.monoNs - before.monoNs;
        assert.ok(realGap > 900n * MS, `${mode}: the reports span the ~1 s downtime (largest real gap ${realGap} ns)`);
        if (mode === "suspend" || mode === "host") {
          const d = bootGap - realGap;
          assert.ok((d < 0n ? -d : d) < 100n * MS, `${mode}: boottime advanced ${bootGap} ns over ${realGap} ns of real time`);
        } else {
          assert.ok(monoGap < realGap - 800n * MS, `${mode}: monotonic resumed without the ~1 s downtime (${monoGap} of ${realGap} ns)`);
        }
      }
      const all = await c.reports();
      assert.deepEqual(all.map((r) => r.seq), all.map((_, i) => i), "every report from #0 on is in the log, once, in order");
      const logs = String((await c.ckpt.ok(["logs", "clock"])).stdout);
      assert.doesNotMatch(logs, /EPIPE|Broken pipe/i);
    });

    test("pre-flight: a process outside PID 1's tree is refused by name, the container keeps running", async (t) => {
      if (!(await requireRealHost(t, runtime))) return;
      const c = await clockContainer(t, runtime);
      const id = (await c.ckpt.json<{ name: string; id: string }[]>(["ps"]))[0]!.id;
      // What `runc exec -d` or podman exec -d leave behind: a child of the host's reaper.
      await execa(runtime, ["--root", `${c.ckpt.root}/runtime/${runtime}`, "exec", "-d", id, "sleep", "1001"], { stdio: "ignore" });
      const refused = await c.ckpt.run(["checkpoint", "clock"]);
      assert.equal(refused.exitCode, 5, String(refused.stderr));
      assert.match(String(refused.stderr), /not descendants of the container's PID 1.*sleep 1001/);
      assert.match(String(refused.stderr), /--allow-process-loss/);
      assert.equal((await c.ps()).status, "running");
      const seq = (await c.reports()).at(-1)!.seq;
      await c.reportsAfter(seq, 2);
      const allowed = await c.ckpt.json<{ lostTasks: { command: string }[] }[]>(["checkpoint", "--allow-process-loss", "clock"]);
      assert.deepEqual(allowed[0]!.lostTasks.map((x) => x.command), ["sleep 1001"]);
    });

    if (runtime === "runc") {
      test("plain runc exec after a restore: before runc 1.2.7 its task is on the host's clock and the checkpoint is refused (the container keeps running); from 1.2.7 it joins PID 1's and the checkpoint goes", async (t) => {
        if (!(await requireRealHost(t, runtime))) return;
        const c = await clockContainer(t, runtime);
        await c.ckpt.ok(["checkpoint", "clock"]);
        await c.ckpt.ok(["restore", "--time-mode", "continue", "clock"]);
        const id = (await c.ckpt.json<{ id: string }[]>(["ps"]))[0]!.id;
        const runc = runtimeBinary("runc");
        await execa(runc, ["--root", `${c.ckpt.root}/runtime/runc`, "exec", id, "sh", "-c", "sleep 1002 </dev/null >/dev/null 2>&1 &"], { stdio: "ignore" });
        const version = runcAdapter.parseVersion(String((await execa(runc, ["--version"])).stdout)).version!;
        const pid1 = (await c.ps()).pid!;
        const tasks = await readContainerTasks(pid1);
        const sleeper = tasks.find((task) => task.command.includes("sleep 1002"));
        assert.ok(sleeper, "the exec'd daemon runs in the container");
        if (execJoinsTimeNamespace(runcAdapter, version)) {
          assert.equal(sleeper.timeNamespace, tasks.find((task) => task.pid === pid1)!.timeNamespace, `runc ${version}'s exec joined PID 1's time namespace`);
          await c.ckpt.ok(["checkpoint", "clock"]);
          await c.ckpt.ok(["restore", "clock"]);
          assert.ok((await readContainerTasks((await c.ps()).pid!)).some((task) => task.command.includes("sleep 1002")), "the daemon came back");
        } else {
          const refused = await c.ckpt.run(["checkpoint", "clock"]);
          assert.equal(refused.exitCode, 5, String(refused.stderr));
          assert.match(String(refused.stderr), /another time namespace than PID 1's.*sleep 1002/);
          assert.equal((await c.ps()).status, "running");
        }
      });
    }
  });
}

describe(`failures leave nothing behind [${combinationName()}]`, () => {
  test("a restore CRIU cannot do: exit 6 with CRIU's evidence, no container left, the checkpoint untouched; a running name is a conflict", async (t) => {
    if (!(await requireRealHost(t, "runc"))) return;
    const c = await clockContainer(t, "runc");
    const [done] = await c.ckpt.json<{ checkpoint: string }[]>(["checkpoint", "--leave-running", "clock"]);
    const conflict = await c.ckpt.run(["restore", "clock"]);
    assert.equal(conflict.exitCode, 9, String(conflict.stderr));
    assert.match(String(conflict.stderr), /is running/);

    // A damaged image ckpt decodes itself is refused before CRIU runs, naming it.
    const broken = c.sandbox.path("broken");
    await cp(done!.checkpoint, broken, { recursive: true });
    await truncate(`${broken}/checkpoint/core-1.img`, 10);
    const refused = await c.ckpt.run(["restore", "-n", "copy", broken]);
    assert.equal(refused.exitCode, 8, String(refused.stderr));
    assert.match(String(refused.stderr), /CRIU image core-1\.img is damaged/);

    // A damaged image only CRIU reads (PID 1's root and working directory).
    const damaged = c.sandbox.path("damaged");
    await cp(done!.checkpoint, damaged, { recursive: true });
    await truncate(`${damaged}/checkpoint/fs-1.img`, 10);
    const before = await fingerprint(damaged);
    const failed = await c.ckpt.run(["restore", "-n", "copy", damaged]);
    assert.equal(failed.exitCode, 6, String(failed.stderr));
    assert.match(String(failed.stderr), /CRIU could not restore "copy"; the checkpoint is untouched/);
    assert.match(String(failed.stderr), /Error/);
    // It says what it took back: what this restore created, and only that.
    assert.match(String(failed.stderr), /cleanup: the container "copy" \(record\) was removed/);
    assert.doesNotMatch(String(failed.stderr), /nothing was removed/);
    assert.deepEqual(await fingerprint(damaged), before, "the checkpoint's files are as they were");
    assert.deepEqual((await c.ckpt.json<PsEntry[]>(["ps", "-a"])).map((x) => x.name), ["clock"]);
    assert.equal((await c.ps()).status, "running");
  });
});

// Names, sizes and contents of the files in a directory tree.
async function fingerprint(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  const files = entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name)).sort();
  return Promise.all(files.map(async (f) => `${f} ${createHash("sha256").update(await readFile(f)).digest("hex")}`));
}
