// Runs one installed OCI runtime binary against ckpt's state root.
import { execFileSync, spawn } from "node:child_process";
import { closeSync, constants, openSync, unlinkSync } from "node:fs";
import { Socket } from "node:net";
import { join } from "node:path";
import { execa } from "execa";
import { refuseWhileMounted } from "../host/mounts.ts";
import { CkptError, ExitCode } from "../errors.ts";
import { findExecutable } from "../host/find-executable.ts";
import { probeCommand } from "../host/probe-command.ts";
import { descendants, killAll } from "../proc/process.ts";
import { tidyRuntimeLine } from "../monitor/conmon.ts";
import { runtimeAdapter, runtimeKindOf } from "./index.ts";
import { checkpointArgv, type CheckpointArgs, type RuntimeAdapter, type RuntimeName } from "./runtime.ts";

export interface RuntimeState {
  status: "created" | "running" | "paused" | "stopped" | string;
  pid: number;
  // The bundle the container was created from, as the runtime recorded it.
  bundle?: string;
}

export interface LazyCheckpoint {
  // The runtime's PID; CRIU runs as its child.
  pid: number;
  ready: Promise<boolean>;
  done: Promise<{ exitCode: number; stderr: string }>;
  // Ends CRIU and the runtime, and waits for them.
  stop(): Promise<void>;
}

export class RuntimeCli {
  readonly adapter: RuntimeAdapter;
  readonly path: string;
  readonly stateRoot: string;

  constructor(adapter: RuntimeAdapter, path: string, stateRoot: string) {
    this.adapter = adapter;
    this.path = path;
    this.stateRoot = stateRoot;
  }

  static locate(name: RuntimeName, stateRoot: string, path?: string): RuntimeCli {
    const adapter = runtimeAdapter(name);
    const found = path ?? findExecutable(adapter.binary);
    if (found === null) {
      throw new CkptError(ExitCode.hostNotReady, `the OCI runtime ${name} is not installed`, {
        hint: "run scripts/setup-host.sh as root, or choose another with --runtime; `ckpt doctor` shows what is usable",
      });
    }
    return new RuntimeCli(adapter, found, stateRoot);
  }

  // Asked once per process: run, checkpoint and exec each need it, the demo all three.
  async version(): Promise<string> {
    await this.checkBinary();
    return this.adapter.parseVersion((await probeCommand(this.path, ["--version"])).stdout).version ?? "unknown";
  }

  // The binary must run and be of this adapter's kind (its --version, asked once per
  // process): a container's recorded binary that was removed, or replaced by another kind,
  // would otherwise answer every `state` with "no such container", and a running container
  // be taken for exited (stop said "was not running"; rm deleted its record and left it
  // running).
  private async checkBinary(): Promise<void> {
    const r = await probeCommand(this.path, ["--version"]);
    const name = this.adapter.name;
    const hint = `a container's runtime is the binary it was created or restored with (and a runtimes entry named ${name} must be ${name}): put a ${name} binary at ${this.path}`;
    if (!r.started) throw new CkptError(ExitCode.hostNotReady, `the ${name} binary ${this.path} cannot be run (missing or not executable)`, { hint });
    if (r.timedOut) throw new CkptError(ExitCode.hostNotReady, `the ${name} binary ${this.path} did not answer --version in time`, { hint });
    const kind = runtimeKindOf(r.stdout);
    if (kind !== name) {
      throw new CkptError(ExitCode.hostNotReady, `${this.path} is not ${name}${kind === null ? "" : ` but ${kind}`} (its --version says "${r.stdout.split("\n")[0] ?? ""}")`, { hint });
    }
  }

  // The runtime's view of container `id`, or null when it does not know it.
  async state(id: string): Promise<RuntimeState | null> {
    await this.checkBinary();
    const r = await execa(this.path, ["--root", this.stateRoot, "state", id], { reject: false, stdin: "ignore" });
    if (r.exitCode !== 0) return null;
    const parsed = JSON.parse(String(r.stdout)) as { status?: string; pid?: number; bundle?: unknown };
    return { status: parsed.status ?? "unknown", pid: parsed.pid ?? 0, ...(typeof parsed.bundle === "string" ? { bundle: parsed.bundle } : {}) };
  }

  async start(id: string): Promise<void> {
    await this.run(["start", id], "start the container");
  }

  async kill(id: string, signal: string): Promise<void> {
    await this.run(["kill", id, signal], `send ${signal} to the container`);
  }

  async delete(id: string, force: boolean): Promise<void> {
    // runc removes its state directory recursively; a criu-root left mounted there by a
    // dead restore would take the container's root filesystem with it.
    await refuseWhileMounted(join(this.stateRoot, id), `${this.adapter.name}'s state of ${id}`);
    await this.checkBinary();
    const r = await execa(this.path, ["--root", this.stateRoot, "delete", ...(force ? ["--force"] : []), id], { reject: false, stdin: "ignore" });
    if (r.exitCode !== 0 && !/does not exist|not found|No such file/i.test(String(r.stderr))) {
      throw new CkptError(ExitCode.runtimeFailed, `${this.adapter.name} could not delete the container`, { evidence: String(r.stderr).split("\n").map(tidyRuntimeLine) });
    }
  }

  async resume(id: string): Promise<void> {
    await this.run(["resume", id], "resume the container");
  }

  // Runs the checkpoint; resolves with the runtime's exit code and stderr, never throws.
  // `onStart` learns the runtime's PID (CRIU runs as its child), for a watchdog.
  // `env` is added to the runtime's environment (CRIU_CONFIG_FILE, for a runtime whose CRIU
  // finds ckpt's configuration that way).
  async checkpoint(args: Omit<CheckpointArgs, "stateRoot">, onStart?: (pid: number) => void, env: Record<string, string> = {}): Promise<{ exitCode: number; stderr: string }> {
    await this.checkBinary();
    const subprocess = execa(this.path, checkpointArgv({ ...args, stateRoot: this.stateRoot }), { reject: false, stdin: "ignore", env });
    if (subprocess.pid !== undefined) onStart?.(subprocess.pid);
    const r = await subprocess;
    return { exitCode: r.exitCode ?? 1, stderr: String(r.stderr) };
  }

  // A lazy (post-copy) checkpoint: resolves `ready` once CRIU has written every image but
  // the memory and serves the pages (true), or has exited first (false); `done` when the
  // restore on the other side has taken every page and the runtime has exited.
  checkpointLazily(args: Omit<CheckpointArgs, "stateRoot" | "lazyPages">, pageServer: string): LazyCheckpoint {
    // The status descriptor must be a real pipe's write end (runc refuses Node's socket
    // pairs as "not writable"): a FIFO in the work directory, opened at both ends here.
    const fifo = join(args.workDir, "status.fifo");
    execFileSync("mkfifo", ["-m", "600", fifo]);
    const readFd = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
    const writeFd = openSync(fifo, constants.O_WRONLY);
    unlinkSync(fifo);
    // node's spawn, not execa: execa's types take no descriptor beyond stderr.
    const subprocess = spawn(this.path, checkpointArgv({ ...args, stateRoot: this.stateRoot, lazyPages: { pageServer, statusFd: 3 } }), { stdio: ["ignore", "ignore", "pipe", writeFd] });
    closeSync(writeFd);
    const status = new Socket({ fd: readFd, readable: true, writable: false });
    let stderr = "";
    subprocess.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    let exited = false;
    const done = new Promise<{ exitCode: number; stderr: string }>((resolve) =>
      subprocess.once("close", (code) => {
        exited = true;
        resolve({ exitCode: code ?? 1, stderr });
      }),
    );
    const ready = new Promise<boolean>((resolve) => {
      status.once("data", () => resolve(true));
      status.once("end", () => resolve(false));
      status.once("error", () => resolve(false));
      void done.then(() => resolve(false));
    });
    void ready.then(() => status.destroy());
    return {
      pid: subprocess.pid ?? 0,
      ready,
      done,
      // CRIU first, so that it cannot go on serving; then the runtime.
      stop: async () => {
        if (subprocess.pid === undefined || exited) return;
        killAll([...(await descendants(subprocess.pid)).reverse(), subprocess.pid]);
        await done;
      },
    };
  }

  private async run(args: string[], what: string): Promise<void> {
    await this.checkBinary();
    const r = await execa(this.path, ["--root", this.stateRoot, ...args], { reject: false, stdin: "ignore" });
    if (r.exitCode !== 0) {
      throw new CkptError(ExitCode.runtimeFailed, `${this.adapter.name} failed to ${what}`, { evidence: String(r.stderr).trim().split("\n").map(tidyRuntimeLine) });
    }
  }
}
