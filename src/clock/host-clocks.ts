// Reads the host's CLOCK_MONOTONIC, CLOCK_REALTIME and CLOCK_BOOTTIME in nanoseconds.
// Node has no clock_gettime(CLOCK_BOOTTIME), and its realtime clock has microseconds at
// best, so ckpt reads /proc/timer_list: one "now at N nsecs" (CLOCK_MONOTONIC) and the
// offsets of the kernel's hrtimer clock bases, where base 1 is REALTIME and base 2 is
// BOOTTIME. All three come from one read, exact to the nanosecond. The file is the host's
// whatever time namespace the reader is in.
import { readFile } from "node:fs/promises";

export interface ClockReading {
  monotonicNs: bigint;
  realtimeNs: bigint;
  boottimeNs: bigint;
}

const REALTIME_BASE = "1";
const BOOTTIME_BASE = "2";

export function parseTimerList(text: string): ClockReading {
  const now = /^now at (\d+) nsecs$/m.exec(text);
  if (!now) throw new Error("/proc/timer_list has no 'now at' line");
  // The first cpu's clock bases are enough: offsets are global.
  const offsets = new Map<string, bigint>();
  for (const m of text.matchAll(/^ clock (\d+):\n(?:  \..*\n)*?  \.offset:\s+(-?\d+) nsecs$/gm)) {
    if (!offsets.has(m[1]!)) offsets.set(m[1]!, BigInt(m[2]!));
  }
  const realtime = offsets.get(REALTIME_BASE);
  const boottime = offsets.get(BOOTTIME_BASE);
  if (realtime === undefined || boottime === undefined) throw new Error("/proc/timer_list lacks the REALTIME or BOOTTIME clock base");
  const monotonicNs = BigInt(now[1]!);
  return { monotonicNs, realtimeNs: monotonicNs + realtime, boottimeNs: monotonicNs + boottime };
}

export async function readHostClocks(): Promise<ClockReading> {
  return parseTimerList(await readFile("/proc/timer_list", "utf8"));
}

export async function readBootId(): Promise<string> {
  return (await readFile("/proc/sys/kernel/random/boot_id", "utf8")).trim();
}
