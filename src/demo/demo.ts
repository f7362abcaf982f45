// `ckpt demo`: the main job on a throwaway container, for a new user's first minute.
// Runs a busybox container, checkpoints it, restores it, execs into it, and reports
// the time namespaces and clocks PID 1 and the exec'd process see.
import { removeContainer } from "../container/remove.ts";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import { checkpointContainer, type CheckpointResult } from "../operations/checkpoint.ts";
import { readHostClocks } from "../clock/host-clocks.ts";
import { openContainer, runtimeFor } from "../container/context.ts";
import { execInContainer } from "../container/exec.ts";
import { readLogFrom } from "../container/logs.ts";
import { runContainer } from "../container/run.ts";
import { readTimeNamespace } from "../proc/process.ts";
import { restoreContainer, type RestoreResult } from "../operations/restore.ts";
import type { RuntimeName } from "../runtimes/runtime.ts";
import type { RuntimeChoice } from "../runtimes/choice.ts";
import type { ContainerStore } from "../store/container-store.ts";
import { createDemoBundle } from "./demo-bundle.ts";

export interface DemoReport {
  name: string;
  runtime: { name: RuntimeName; version: string };
  steps: { run: bigint; checkpoint: bigint; restore: bigint; exec: bigint };
  checkpoint: CheckpointResult;
  restore: RestoreResult;
  timeNamespaces: { pid1: number; exec: number; host: number; shared: boolean };
  uptimeSeconds: { host: number; pid1Log: number | null; exec: number };
  execOutput: string[];
}

export async function runDemo(store: ContainerStore, choice: RuntimeChoice, progress: (line: string) => void, keep: boolean): Promise<DemoReport> {
  const runtimeName = choice.name;
  const runtime = runtimeFor(store, choice.name, choice.path);
  const version = await runtime.version();
  const dir = await mkdtemp(join(tmpdir(), "ckpt-demo-"));
  const name = `ckpt-demo-${randomBytes(3).toString("hex")}`;
  const t = () => process.hrtime.bigint();
  try {
    progress(`building a busybox container in ${dir}`);
    const bundle = await createDemoBundle(dir, runtime.path);
    let t0 = t();
    await runContainer(store, { bundle, name, runtime: choice, command: undefined });
    const run = t() - t0;
    progress(`running ${name} on ${runtimeName} ${version}; letting it tick for a second`);
    await sleep(1000);

    t0 = t();
    const checkpoint = await checkpointContainer(await openContainer(store, name), { leaveRunning: false, tcpEstablished: false, fileLocks: false, keep: false, allowProcessLoss: false });
    const checkpointNs = t() - t0;
    progress(`checkpointed it to ${checkpoint.dir}; waiting a second before restoring`);
    await sleep(1000);

    t0 = t();
    const restore = await restoreContainer(store, { source: name, newName: undefined, runtime: undefined, timeMode: "continue", options: {} });
    const restoreNs = t() - t0;
    progress(`restored it (PID ${restore.pid}); exec'ing into it`);

    const lines: string[] = [];
    const sink = new Writable({ write: (chunk: Buffer, _e, done) => (lines.push(...chunk.toString().split("\n").filter((l) => l !== "")), done()) });
    t0 = t();
    const exec = await execInContainer(await openContainer(store, name), { command: ["sh", "-c", "readlink /proc/self/ns/time; cut -d' ' -f1 /proc/uptime"], detach: false }, { stdout: sink, stderr: sink });
    const execNs = t() - t0;
    const host = await readHostClocks();
    const execNamespace = Number(/\[(\d+)\]/.exec(lines[0] ?? "")?.[1] ?? 0);
    const pid1Namespace = await readTimeNamespace(restore.pid);
    const ticks = await lastTick(store, name);
    if (exec.exitCode !== 0) throw new Error(`the demo's exec failed: ${lines.join(" ")}`);
    return {
      name,
      runtime: { name: runtimeName, version },
      steps: { run, checkpoint: checkpointNs, restore: restoreNs, exec: execNs },
      checkpoint,
      restore,
      timeNamespaces: { pid1: pid1Namespace, exec: execNamespace, host: await readTimeNamespace("self"), shared: pid1Namespace === execNamespace },
      uptimeSeconds: { host: Number(host.boottimeNs / 10_000_000n) / 100, pid1Log: ticks, exec: Number(lines[1] ?? "NaN") },
      execOutput: lines,
    };
  } finally {
    if (!keep) {
      const ctx = await openContainer(store, name).catch(() => null);
      if (ctx) {
        await removeContainer(store, ctx.record, ctx.runtime, { tolerateRuntime: true });
      }
      await rm(store.layout.containerCheckpointsDir(name), { recursive: true, force: true });
      await rm(dir, { recursive: true, force: true });
    }
  }
}

// The uptime PID 1 printed last, from the container log.
async function lastTick(store: ContainerStore, name: string): Promise<number | null> {
  const { lines } = await readLogFrom(store.layout.containerLog(name), 0, {});
  const last = lines.map((l) => /uptime ([\d.]+)/.exec(l.text)?.[1]).filter((x) => x !== undefined).at(-1);
  return last === undefined ? null : Number(last);
}
