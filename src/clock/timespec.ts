// Nanosecond clock values and time-namespace offsets as the kernel writes them.
// /proc/PID/timens_offsets holds lines like "monotonic -2 822621976": whole seconds
// (possibly negative) plus nanoseconds in [0, 1e9), i.e. the seconds are floored.

export const NS_PER_SECOND = 1_000_000_000n;

export interface TimespecOffset {
  seconds: bigint;
  nanoseconds: bigint;
}

// The kernel's split of a nanosecond offset: -1_177_378_024 ns -> { -2 s, 822_621_976 ns }.
export function toTimespecOffset(ns: bigint): TimespecOffset {
  let seconds = ns / NS_PER_SECOND;
  let nanoseconds = ns % NS_PER_SECOND;
  if (nanoseconds < 0n) {
    seconds -= 1n;
    nanoseconds += NS_PER_SECOND;
  }
  return { seconds, nanoseconds };
}

export function fromTimespecOffset(offset: TimespecOffset): bigint {
  return offset.seconds * NS_PER_SECOND + offset.nanoseconds;
}

export interface TimeNamespaceOffsets {
  monotonicNs: bigint;
  boottimeNs: bigint;
}

// The offsets in a /proc/PID/timens_offsets text.
export function parseTimensOffsets(text: string): TimeNamespaceOffsets {
  const read = (clock: string): bigint => {
    const m = new RegExp(`^${clock}\\s+(-?\\d+)\\s+(\\d+)\\s*$`, "m").exec(text);
    if (!m) throw new Error(`no ${clock} line in timens_offsets: ${JSON.stringify(text)}`);
    return fromTimespecOffset({ seconds: BigInt(m[1]!), nanoseconds: BigInt(m[2]!) });
  };
  return { monotonicNs: read("monotonic"), boottimeNs: read("boottime") };
}

// "1.5 s", "-2.177 s", "340 ms": a clock difference for people.
export function formatDurationNs(ns: bigint): string {
  const abs = ns < 0n ? -ns : ns;
  const sign = ns < 0n ? "-" : "";
  if (abs < 1_000_000n) return `${sign}${abs} ns`;
  if (abs < NS_PER_SECOND) return `${sign}${Number(abs) / 1e6} ms`;
  return `${sign}${(Number(abs) / 1e9).toFixed(3)} s`;
}
