// The argv of conmon, the per-container monitor ckpt uses (as podman and CRI-O do): it
// holds the container's stdio through pipes, writes its log, reaps it and records its
// exit code. Pure, so every variant is unit-tested.

export interface MonitorTarget {
  id: string;
  name: string;
  runtimePath: string;
  // Passed to the runtime as --root.
  runtimeStateRoot: string;
  bundleDir: string;
  socketDir: string;
}

export interface CreateMonitorArgs extends MonitorTarget {
  containerPidFile: string;
  monitorPidFile: string;
  logPath: string;
  exitDir: string;
  // Restore from these CRIU images instead of creating the container afresh.
  restoreFrom?: { imageDir: string; runtimeOptions: string[] };
  // Run when the container has exited and its exit code is written (run --restart):
  // an absolute path, then its arguments. conmon waits for it before it exits itself.
  exitCommand?: string[];
}

// conmon for `create` (then `<runtime> start`) or `restore`. conmon daemonizes and
// reports the container's PID on the sync pipe (fd 3).
export function createMonitorArgv(a: CreateMonitorArgs): string[] {
  return [
    ...commonArgs(a, a.id),
    "-p", a.containerPidFile,
    "-P", a.monitorPidFile,
    "-l", `k8s-file:${a.logPath}`,
    "--exit-dir", a.exitDir,
    ...(a.exitCommand && a.exitCommand.length > 0 ? ["--exit-command", a.exitCommand[0]!, ...a.exitCommand.slice(1).flatMap((arg) => ["--exit-command-arg", arg])] : []),
    ...(a.restoreFrom ? ["--restore", a.restoreFrom.imageDir, ...a.restoreFrom.runtimeOptions.flatMap((o) => ["--runtime-opt", o])] : []),
  ];
}

export interface ExecMonitorArgs extends MonitorTarget {
  execId: string;
  processSpecPath: string;
  execPidFile: string;
  exitDir: string;
  logPath: string;
}

// conmon for one `exec`: stays in the foreground (--sync), gives the process pipes of its
// own and logs them, then exits with the process's exit code; it does not wait for
// background children that keep the pipes open. Real pipes matter: CRIU can dump a
// leftover child whose stdout is a pipe, not one whose stdout is a socket to ckpt (what
// Node's stdio pipes are).
export function execMonitorArgv(a: ExecMonitorArgs): string[] {
  return [
    ...commonArgs(a, a.execId),
    "--sync",
    "-p", a.execPidFile,
    "-l", `k8s-file:${a.logPath}`,
    "--exit-dir", a.exitDir,
    "--exec",
    "--exec-process-spec", a.processSpecPath,
  ];
}

function commonArgs(a: MonitorTarget, uuid: string): string[] {
  return [
    "--api-version", "1",
    "-c", a.id,
    "-u", uuid,
    "-n", a.name,
    "-r", a.runtimePath,
    "-b", a.bundleDir,
    "--socket-dir-path", a.socketDir,
    "--runtime-arg", `--root=${a.runtimeStateRoot}`,
  ];
}

// conmon writes one JSON object a line on the sync pipe: `{"data": N}` with a PID (or an
// exit code, for exec's second message), or `{"data": -1, "message": "..."}` on failure.
export interface SyncMessage {
  data: number;
  message?: string;
}

export function parseSyncMessages(text: string): SyncMessage[] {
  return text
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => {
      const value = JSON.parse(line) as { data?: unknown; message?: unknown };
      if (typeof value.data !== "number") throw new Error(`unexpected message from conmon: ${line}`);
      return typeof value.message === "string" ? { data: value.data, message: value.message } : { data: value.data };
    });
}
