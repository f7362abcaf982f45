// Pure: the clocks a repaired checkpoint's single time namespace starts from. Tasks that
// ran outside PID 1's namespace (TESTBED fact 2: `runc exec` before 1.2.7) read the
// host's clocks; moved into PID 1's namespace, they would see monotonic and boottime
// step back wherever PID 1's clocks were behind the host's. So each clock becomes the
// larger of PID 1's and the host's at the dump, as far as the checkpoint tells:
//
//   manifest  ckpt recorded the host's clocks at the dump instant: exact.
//   uptime    CRIU recorded the host's uptime (boottime, 10 ms steps); monotonic never
//             exceeds boottime, so raising both to it (plus 10 ms) is safe.
//   file-time the images were written on this boot: the host's boottime then follows
//             from their modification time and the boot's start, within a second.
//   unknown   none of that: PID 1's clocks are kept, and the bound is stated.
export interface Clocks {
  monotonicNs: bigint;
  boottimeNs: bigint;
}

export interface UnifyFacts {
  pid1: Clocks;
  hostAtDump: Clocks | null;
  dumpUptimeNs: bigint | null;
  // The host's boottime when the images were written, if they were written on this boot.
  boottimeAtImagesNs: bigint | null;
}

export interface UnifyPlan {
  clocks: Clocks;
  basis: "manifest" | "uptime" | "file-time" | "unknown";
  // How far PID 1's clocks move forward.
  forwardNs: Clocks;
  note: string;
}

const max = (a: bigint, b: bigint) => (a > b ? a : b);
const seconds = (ns: bigint) => `${(Number(ns) / 1e9).toFixed(3)} s`;

export function planTimensUnification(facts: UnifyFacts): UnifyPlan {
  const { pid1 } = facts;
  const raise = (floor: Clocks, basis: UnifyPlan["basis"], how: string): UnifyPlan => {
    const clocks = { monotonicNs: max(pid1.monotonicNs, floor.monotonicNs), boottimeNs: max(pid1.boottimeNs, floor.boottimeNs) };
    const forwardNs = { monotonicNs: clocks.monotonicNs - pid1.monotonicNs, boottimeNs: clocks.boottimeNs - pid1.boottimeNs };
    const moved = forwardNs.monotonicNs === 0n && forwardNs.boottimeNs === 0n ? "PID 1's clocks were not behind: they stay as dumped" : `PID 1's clocks move forward by ${seconds(forwardNs.monotonicNs)} (monotonic) and ${seconds(forwardNs.boottimeNs)} (boottime)`;
    return { clocks, basis, forwardNs, note: `${how}; no task's clock goes backwards; ${moved}` };
  };
  if (facts.hostAtDump !== null) return raise(facts.hostAtDump, "manifest", "the host's clocks at the dump come from ckpt's manifest");
  if (facts.dumpUptimeNs !== null) {
    const ceiling = facts.dumpUptimeNs + 10_000_000n;
    return raise({ monotonicNs: ceiling, boottimeNs: ceiling }, "uptime", "the host's clocks at the dump are bounded by the uptime CRIU recorded");
  }
  if (facts.boottimeAtImagesNs !== null) {
    const ceiling = facts.boottimeAtImagesNs + 1_000_000_000n;
    return raise({ monotonicNs: ceiling, boottimeNs: ceiling }, "file-time", "the images were written on this boot; the host's clocks then are bounded by their write time (plus 1 s)");
  }
  return {
    clocks: pid1,
    basis: "unknown",
    forwardNs: { monotonicNs: 0n, boottimeNs: 0n },
    note: "the checkpoint records nothing of the host's clocks at the dump and was made on another boot: PID 1's clocks are kept, and the tasks that ran on the host's clocks see monotonic and boottime step back by the host's clocks at the dump minus PID 1's (at most the host's uptime then)",
  };
}
