// `ckpt exec`: runs a process in a running container, always in the time namespace of
// its PID 1, under a conmon that reaps it and reports its exit code.
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { CkptError, ExitCode } from "../errors.ts";
import { execMonitorArgv, parseSyncMessages } from "../monitor/conmon-argv.ts";
import { conmonPath, tidyRuntimeLine } from "../monitor/conmon.ts";
import type { OciSpec } from "../oci/spec.ts";
import { withRaisableAmbient } from "../oci/capabilities.ts";
import { onOutputClosed, outputClosed } from "../output/broken-pipe.ts";
import { descendants, killAll, readTimeNamespace } from "../proc/process.ts";
import { execJoinsTimeNamespace } from "../runtimes/runtime.ts";
import { writeFileAtomic } from "../store/atomic-write.ts";
import { liveState, type ContainerContext } from "./context.ts";
import { readLogFrom, writeLogLines } from "./logs.ts";
import { monitorArgs } from "./run.ts";

export interface ExecRequest {
  command: string[];
  // Start it in the background, inside PID 1's process tree, its output to the container log.
  detach: boolean;
  // Called when the process runs (runc wrote its PID), perhaps more than once; not when it
  // never started.
  onStarted?: () => void;
}

export interface ExecResult {
  exitCode: number;
  pid: number;
  // How the process came to share PID 1's time namespace.
  timeNamespace: { pid1: number; joinedBy: "runtime" | "ckpt" | "same-as-host" };
}

// How a detached process is started so that it lands under PID 1: a shell inside the
// container forks it and exits, and the kernel re-parents it to the container's init. Its
// output goes to PID 1's stdout and stderr, the pipes the monitor logs.
export function detachedArgs(command: string[]): string[] {
  return ["/bin/sh", "-c", '"$@" </dev/null >/proc/1/fd/1 2>/proc/1/fd/2 &', "ckpt-exec", ...command];
}

export async function execInContainer(ctx: ContainerContext, request: ExecRequest, output: { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream }): Promise<ExecResult> {
  const { record, runtime, store } = ctx;
  const live = await liveState(ctx);
  if (live.status !== "running" || live.pid === null) {
    throw new CkptError(ExitCode.conflict, `container "${record.name}" is ${live.status}, not running`, {
      hint: live.status === "checkpointed" ? `restore it first: ckpt restore ${record.name}` : `start a new one with ckpt run`,
    });
  }
  if (request.detach && !existsSync(join(record.rootfs, "bin/sh"))) {
    throw new CkptError(ExitCode.refused, "exec -d needs /bin/sh in the container", {
      hint: "ckpt starts detached processes through the container's shell so that they stay in PID 1's tree and survive checkpoints; without one, run the command in the foreground",
    });
  }
  const spec = JSON.parse(await readFile(join(store.layout.bundleDir(record.name), "config.json"), "utf8")) as OciSpec;
  const execId = randomBytes(6).toString("hex");
  const scratch = join(store.layout.execDir(record.name), execId);
  await mkdir(scratch, { recursive: true, mode: 0o700 });
  let releaseOnClose = () => {};
  try {
    const processSpecPath = join(scratch, "process.json");
    const args = request.detach ? detachedArgs(request.command) : request.command;
    // A container created before ckpt made its ambient capabilities raisable (run said so).
    await writeFileAtomic(processSpecPath, JSON.stringify({ ...withRaisableAmbient(spec.process).process, args, terminal: false }));

    // Join PID 1's time namespace: the runtime does it itself, or ckpt enters it first.
    const pid1Namespace = await readTimeNamespace(live.pid);
    let joinedBy: ExecResult["timeNamespace"]["joinedBy"] = "runtime";
    let prefix: string[] = [];
    let stateRoot = runtime.stateRoot;
    if (pid1Namespace === (await readTimeNamespace("self"))) {
      joinedBy = "same-as-host";
    } else if (!execJoinsTimeNamespace(runtime.adapter, await runtime.version())) {
      if (runtime.adapter.prepareExecInTimeNamespace === undefined) {
        throw new CkptError(ExitCode.hostNotReady, `${runtime.adapter.name} cannot exec into the container's time namespace`, { hint: `upgrade ${runtime.adapter.name}` });
      }
      stateRoot = await runtime.adapter.prepareExecInTimeNamespace({ stateRoot, id: record.id, pid1: live.pid, scratchDir: join(scratch, "state") });
      prefix = ["nsenter", `--time=/proc/${live.pid}/ns/time`, "--"];
      joinedBy = "ckpt";
    }

    const logPath = join(scratch, "output.log");
    const argv = execMonitorArgv({
      ...monitorArgs(store, record),
      runtimeStateRoot: stateRoot,
      execId,
      processSpecPath,
      execPidFile: join(scratch, "pid"),
      exitDir: scratch,
      logPath,
    });
    const [file, ...rest] = [...prefix, conmonPath(), ...argv];
    // Plain spawn, not execa: execa lets go of extra stdio pipes such as the sync pipe.
    const child = spawn(file!, rest, { stdio: ["ignore", "ignore", "pipe", "pipe"], env: { ...process.env, _OCI_SYNCPIPE: "3" } });
    let monitorErrors = "";
    child.stderr!.setEncoding("utf8").on("data", (c: string) => (monitorErrors += c));
    const sync = collect(child.stdio[3] as Readable);
    const exited = once(child, "exit");
    // Nobody reads the output any more (`| head` has exited): the process goes, as a
    // writer into a closed pipe would, and nothing of it stays behind.
    releaseOnClose = onOutputClosed(async () => {
      await endExecProcess(join(scratch, "pid"), child, exited);
      await rm(scratch, { recursive: true, force: true });
    });
    // The process's output, relayed from conmon's log as it arrives.
    const carry = {};
    let offset = 0;
    let running = true;
    void exited.then(() => (running = false), () => (running = false));
    const relay = async () => {
      const read = await readLogFrom(logPath, offset, carry);
      offset = read.offset;
      writeLogLines(read.lines, output);
    };
    while (running) {
      // runc writes the pid file once the process runs.
      if (request.onStarted !== undefined && existsSync(join(scratch, "pid"))) request.onStarted();
      if (!outputClosed()) await relay();
      await new Promise((r) => setTimeout(r, 15));
    }
    await exited;
    const messages = parseSyncMessages(await sync);
    await relay();
    const started = messages[0];
    if (started === undefined || started.data <= 0) {
      throw new CkptError(ExitCode.runtimeFailed, `${runtime.adapter.name} exec failed`, { evidence: (started?.message ?? (monitorErrors || "no report from conmon")).trim().split("\n").map(tidyRuntimeLine) });
    }
    return { exitCode: messages[1]?.data ?? 1, pid: started.data, timeNamespace: { pid1: pid1Namespace, joinedBy } };
  } finally {
    releaseOnClose();
    await rm(scratch, { recursive: true, force: true });
  }
}

// Ends an exec'd process (its PID from conmon's pid file) and everything it started, then
// waits for its monitor to report the exit. Before the process exists, the monitor goes.
async function endExecProcess(pidFile: string, monitor: ChildProcess, monitorExited: Promise<unknown>): Promise<void> {
  const pid = Number((await readFile(pidFile, "utf8").catch(() => "")).trim());
  if (Number.isInteger(pid) && pid > 0) killAll([...(await descendants(pid)).reverse(), pid]);
  else monitor.kill("SIGKILL");
  await Promise.race([monitorExited.catch(() => {}), new Promise((r) => setTimeout(r, 5000).unref())]);
}

function collect(stream: Readable): Promise<string> {
  return new Promise((resolve) => {
    let text = "";
    stream.setEncoding("utf8");
    stream.on("data", (c: string) => (text += c));
    stream.on("end", () => resolve(text));
    stream.on("error", () => resolve(text));
  });
}
