// Runs a probe command at most once per process and remembers its result, so a
// `ckpt doctor` run asks each binary each question exactly once.
import { execa } from "execa";

export interface ProbeResult {
  // False when the binary could not be started at all (missing, not executable).
  started: boolean;
  exitCode: number | undefined;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

const cache = new Map<string, Promise<ProbeResult>>();
let executions = 0;

// The result of `file args...`, run once; later calls share the first run.
export function probeCommand(file: string, args: readonly string[], timeoutMs = 10_000): Promise<ProbeResult> {
  const key = JSON.stringify([file, ...args]);
  let result = cache.get(key);
  if (result === undefined) {
    result = run(file, args, timeoutMs);
    cache.set(key, result);
  }
  return result;
}

async function run(file: string, args: readonly string[], timeoutMs: number): Promise<ProbeResult> {
  executions++;
  // In a process group of its own, ended whole on timeout: execa's own timeout ends only
  // the probe, and waits on for its output, which a child it left (a wrapper script's
  // `sleep`) holds open: a hanging `--version` hung ckpt as long as that child lived.
  const subprocess = execa(file, args, { reject: false, stdin: "ignore", env: { LC_ALL: "C" }, detached: true });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    try {
      if (subprocess.pid !== undefined) process.kill(-subprocess.pid, "SIGKILL");
    } catch {
      // already gone
    }
  }, timeoutMs);
  const r = await subprocess.finally(() => clearTimeout(timer));
  return {
    started: r.exitCode !== undefined || r.signal !== undefined,
    exitCode: r.exitCode,
    stdout: r.stdout,
    stderr: r.stderr,
    timedOut,
  };
}

// How many probe commands this process has started, for tests that check none repeats.
export function probeCount(): number {
  return executions;
}
