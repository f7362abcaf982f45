// Timestamps in ckpt's JSON: integer nanoseconds since the epoch plus RFC 3339 with nine
// fractional digits, so both scripts and people can read them exactly.

export interface Timestamp {
  ns: bigint;
  rfc3339: string;
}

export function rfc3339Nano(ns: bigint): string {
  const seconds = ns / 1_000_000_000n;
  const fraction = ns % 1_000_000_000n;
  const iso = new Date(Number(seconds) * 1000).toISOString(); // 2026-11-22T07:59:54.000Z
  return `${iso.slice(0, 19)}.${fraction.toString().padStart(9, "0")}Z`;
}

export function timestamp(ns: bigint): Timestamp {
  return { ns, rfc3339: rfc3339Nano(ns) };
}

// "3.2s", "850ms", "2m05s" for people.
export function humanDuration(ns: bigint): string {
  const ms = Number(ns / 1_000_000n);
  if (ms < 1000) return `${ms}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
}

// "5 minutes ago" style ages for `ps`.
export function humanAge(fromNs: bigint, nowNs: bigint): string {
  const s = Number((nowNs - fromNs) / 1_000_000_000n);
  if (s < 60) return `${s} seconds ago`;
  if (s < 3600) return `${Math.floor(s / 60)} minutes ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} hours ago`;
  return `${Math.floor(s / 86400)} days ago`;
}
