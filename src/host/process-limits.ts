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

// /proc/PID/limits' names of the OCI spec's rlimit types.
const LIMIT_NAMES: Record<string, string> = {
  "Max cpu time": "RLIMIT_CPU",
  "Max file size": "RLIMIT_FSIZE",
  "Max data size": "RLIMIT_DATA",
  "Max stack size": "RLIMIT_STACK",
  "Max core file size": "RLIMIT_CORE",
  "Max resident set": "RLIMIT_RSS",
  "Max processes": "RLIMIT_NPROC",
  "Max open files": "RLIMIT_NOFILE",
  "Max locked memory": "RLIMIT_MEMLOCK",
  "Max address space": "RLIMIT_AS",
  "Max file locks": "RLIMIT_LOCKS",
  "Max pending signals": "RLIMIT_SIGPENDING",
  "Max msgqueue size": "RLIMIT_MSGQUEUE",
  "Max nice priority": "RLIMIT_NICE",
  "Max realtime priority": "RLIMIT_RTPRIO",
  "Max realtime timeout": "RLIMIT_RTTIME",
};

// Every hard limit of a /proc/PID/limits text, by the OCI spec's RLIMIT_ name (null: unlimited).
export function parseHardLimits(limitsText: string): Map<string, bigint | null> {
  const limits = new Map<string, bigint | null>();
  for (const line of limitsText.split("\n")) {
    const m = /^(Max [a-z ]+?)\s{2,}(\S+)\s+(\S+)/.exec(line);
    const type = m === null ? undefined : LIMIT_NAMES[m[1]!];
    if (type === undefined || !/^(\d+|unlimited)$/.test(m![3]!)) continue;
    limits.set(type, m![3] === "unlimited" ? null : BigInt(m![3]!));
  }
  return limits;
}

// ckpt's own hard limits: what a container it starts may have at most.
export function readHardLimits(): Map<string, bigint | null> {
  return parseHardLimits(readFileSync("/proc/self/limits", "utf8"));
}
