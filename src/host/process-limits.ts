// The capabilities and resource limits of the ckpt process that affect CRIU and the runtimes.
import { readFileSync } from "node:fs";

// Capability numbers from linux/capability.h.
const CAP_SYS_RESOURCE = 24n;

export interface ProcessLimitFacts {
  // Without CAP_SYS_RESOURCE no rlimit can be raised above its hard limit.
  capSysResource: boolean;
  nofileSoft: number | null;
  nofileHard: number | null;
  // fs.pipe-max-size: the largest pipe an unprivileged F_SETPIPE_SZ gets (null: unknown).
  pipeMaxSize?: number | null;
}

// Whether capability `cap` is in the effective set of a /proc/PID/status text.
export function hasEffectiveCapability(statusText: string, cap: bigint): boolean {
  const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(statusText);
  return m !== null && ((BigInt(`0x${m[1]}`) >> cap) & 1n) === 1n;
}

// The soft and hard "Max open files" limits of a /proc/PID/limits text (null: unlimited).
export function parseNofileLimits(limitsText: string): { soft: number | null; hard: number | null } {
  const m = /^Max open files\s+(\S+)\s+(\S+)/m.exec(limitsText);
  const num = (s: string | undefined) => (s === undefined || s === "unlimited" ? null : Number(s));
  return { soft: num(m?.[1]), hard: num(m?.[2]) };
}

export function readProcessLimitFacts(): ProcessLimitFacts {
  const limits = parseNofileLimits(readFileSync("/proc/self/limits", "utf8"));
  return {
    capSysResource: hasEffectiveCapability(readFileSync("/proc/self/status", "utf8"), CAP_SYS_RESOURCE),
    nofileSoft: limits.soft,
    nofileHard: limits.hard,
    pipeMaxSize: readPipeMaxSize(),
  };
}

function readPipeMaxSize(): number | null {
  try {
    const n = Number(readFileSync("/proc/sys/fs/pipe-max-size", "utf8").trim());
    return Number.isInteger(n) && n > 0 ? n : null;
  } catch {
    return null;
  }
}
