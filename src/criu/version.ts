// CRIU versions ckpt depends on, and reading them from `criu --version`.

// CRIU before 4.1 fails every command on kernels >= 6.13 (the separate [vvar_vclock]
// vDSO mapping) and lacks the time-namespace handling ckpt relies on. CRIU 4.1.x fails to
// dump any inet socket on kernels >= 6.16, which allow SO_PASSCRED/SO_PASSSEC only on
// unix and netlink sockets ("Can't get 1:16 opt: Operation not supported"); 4.2 asks
// for them on those sockets only.
export const CRIU_MIN_VERSION = "4.2";
// The oldest CRIU that works at all on kernels >= 6.13: 4.1.x still checkpoints
// containers that hold no inet socket (ckpt doctor says which can't).
export const CRIU_FLOOR_VERSION = "4.1";

// "Version: 4.2.1" (first line of `criu --version`) -> "4.2.1".
export function parseCriuVersion(output: string): string | null {
  return /^Version:\s*(\S+)/m.exec(output)?.[1] ?? null;
}

// The `Error (file:line): ...` lines of CRIU output, the evidence worth showing.
export function criuErrorLines(output: string): string[] {
  return output.split("\n").filter((l) => /^\s*(\(\s*[\d.]+\)\s*)?Error\b/.test(l)).map((l) => l.trim());
}

// Error lines CRIU logs on every run on hosts without CAP_SYS_RESOURCE, and carries on.
const HARMLESS_ERRORS = [/rlimit: Can't setup RLIMIT_NOFILE for self/];

// The Error lines of a failed CRIU run that say why, without the harmless ones and
// without the log's timestamps: "Error (criu/sockets.c:628): sockets: ...".
export function criuFailureLines(log: string): string[] {
  return criuErrorLines(log)
    .filter((l) => !HARMLESS_ERRORS.some((h) => h.test(l)))
    .map((l) => l.replace(/^\(\s*[\d.]+\)\s*/, ""));
}

// The evidence of a failed CRIU run: each Error line that matters with the two lines
// before it (like `grep -B2 Error`), at most `limit` lines.
export function criuEvidence(log: string, limit = 15): string[] {
  const lines = log.split("\n");
  const picked = new Set<number>();
  lines.forEach((line, i) => {
    if (!/^\s*(\(\s*[\d.]+\)\s*)?Error\b/.test(line) || HARMLESS_ERRORS.some((h) => h.test(line))) return;
    for (let j = Math.max(0, i - 2); j <= i; j++) picked.add(j);
  });
  return [...picked].sort((a, b) => a - b).slice(-limit).map((i) => lines[i]!.trim());
}
