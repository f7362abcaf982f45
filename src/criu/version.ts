// CRIU versions ckpt depends on, and reading them from `criu --version`.

// Older CRIU fails every command on kernels >= 6.13 (the separate [vvar_vclock] vDSO
// mapping) and lacks the time-namespace handling ckpt relies on.
export const CRIU_MIN_VERSION = "4.1.1";

// "Version: 4.1.1" (first line of `criu --version`) -> "4.1.1".
export function parseCriuVersion(output: string): string | null {
  return /^Version:\s*(\S+)/m.exec(output)?.[1] ?? null;
}

// The `Error (file:line): ...` lines of CRIU output, the evidence worth showing.
export function criuErrorLines(output: string): string[] {
  return output.split("\n").filter((l) => /^\s*(\(\s*[\d.]+\)\s*)?Error\b/.test(l)).map((l) => l.trim());
}
