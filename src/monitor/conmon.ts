// Starts conmon and reads what it reports on its sync pipe.
import type { Readable } from "node:stream";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { CkptError, ExitCode } from "../errors.ts";
import { findExecutable } from "../host/find-executable.ts";
import { parseSyncMessages, type SyncMessage } from "./conmon-argv.ts";

export function conmonPath(): string {
  const path = findExecutable("conmon");
  if (path === null) {
    throw new CkptError(ExitCode.hostNotReady, "conmon, the container monitor, is not installed", {
      hint: "run scripts/setup-host.sh as root (or apt-get install conmon); `ckpt doctor` checks the host",
    });
  }
  return path;
}

// Runs a daemonizing conmon (create or restore) and returns the container's PID once
// conmon reports it. A failure carries the runtime's own message. `env` is added to the
// environment conmon runs the runtime with.
export async function startMonitor(argv: string[], what: string, env: Record<string, string> = {}): Promise<number> {
  // Plain spawn, not execa: execa lets go of extra stdio pipes when the process exits,
  // and conmon's parent exits at once while its daemonized child answers on fd 3.
  const child = spawn(conmonPath(), argv, { stdio: ["ignore", "ignore", "pipe", "pipe"], env: { ...process.env, ...env, _OCI_SYNCPIPE: "3" } });
  let stderr = "";
  child.stderr!.setEncoding("utf8").on("data", (c: string) => (stderr += c));
  const exited = once(child, "exit");
  const sync = child.stdio[3] as Readable;
  const first = await firstMessage(sync);
  sync.destroy();
  await exited;
  if (first === null) {
    throw new CkptError(ExitCode.runtimeFailed, `conmon exited without reporting the container's PID (${what})`, {
      evidence: stderr.trim() === "" ? [] : stderr.trim().split("\n"),
    });
  }
  if (first.data <= 0) {
    throw new CkptError(ExitCode.runtimeFailed, `${what} failed`, { evidence: (first.message ?? "").trim().split("\n").map(tidyRuntimeLine) });
  }
  return first.data;
}

// The first message conmon writes, or null when it closes the pipe without one.
function firstMessage(stream: Readable): Promise<SyncMessage | null> {
  return new Promise((resolve, reject) => {
    let text = "";
    const done = (value: SyncMessage | null) => {
      stream.removeAllListeners();
      stream.on("error", () => {});
      resolve(value);
    };
    stream.setEncoding("utf8");
    stream.on("data", (chunk: string) => {
      text += chunk;
      if (text.includes("\n")) {
        try {
          done(parseSyncMessages(text.slice(0, text.indexOf("\n") + 1))[0] ?? null);
        } catch (error) {
          reject(error);
        }
      }
    });
    stream.on("end", () => done(null));
    stream.on("error", () => done(null));
  });
}

// The exit code conmon wrote for container `id` in its exit directory (128 + N for a
// signal), or null while it has written none.
export async function readExitCode(exitDir: string, id: string): Promise<number | null> {
  const text = (await readFile(join(exitDir, id), "utf8").catch(() => "")).trim();
  return /^-?\d+$/.test(text) ? Number(text) : null;
}

// runc prints `time="..." level=error msg="..."`; keep the message.
export function tidyRuntimeLine(line: string): string {
  const m = /level=\w+ msg="((?:[^"\\]|\\.)*)"/.exec(line);
  return m ? m[1]!.replace(/\\n/g, " ").replace(/\\"/g, '"') : line;
}
