// Decides how a restored container's clocks relate to the host's. Pure: it takes what
// the checkpoint recorded and what the host reads now, and returns a plan; applying it
// (making or joining a time namespace for CRIU) is a separate step.
//
// Policies (`--time-mode`):
//   continue  monotonic and boottime resume from their dumped values (CRIU's behaviour)
//   suspend   monotonic resumes; boottime advances by the realtime elapsed since the
//             dump, as after a machine suspend
//   host      join the host's time namespace; only when neither clock would go back
//   auto      host for a container that had no time namespace of its own restored on
//             the same boot; continue otherwise

export const timeModes = ["auto", "host", "continue", "suspend"] as const;
export type TimeMode = (typeof timeModes)[number];

// What a checkpoint recorded about time, all in nanoseconds.
export interface DumpedClocks {
  // The container's spec declared its own time namespace.
  declaredTimeNamespace: boolean;
  // The container's CLOCK_MONOTONIC and CLOCK_BOOTTIME at the dump (CRIU's timens image).
  monotonicNs: bigint;
  boottimeNs: bigint;
  // The host's CLOCK_REALTIME at the dump.
  hostRealtimeNs: bigint;
  // /proc/sys/kernel/random/boot_id of the host that dumped.
  bootId: string;
}

// The restoring host now.
export interface HostClocks {
  realtimeNs: bigint;
  monotonicNs: bigint;
  boottimeNs: bigint;
  bootId: string;
  // The kernel has time namespaces (CONFIG_TIME_NS).
  timeNamespaces: boolean;
}

export type RestoreClockPlan =
  | {
      kind: "host-namespace";
      mode: TimeMode;
      reason: string;
      warnings: string[];
    }
  | {
      kind: "new-namespace";
      mode: TimeMode;
      // The container's clocks at the moment of restore...
      monotonicNs: bigint;
      boottimeNs: bigint;
      // ...and the namespace offsets that give them (container clock minus host clock).
      offsets: { monotonicNs: bigint; boottimeNs: bigint };
      reason: string;
      warnings: string[];
    }
  | {
      kind: "refused";
      mode: TimeMode;
      reason: string;
      hint: string;
    };

export function planRestoreClock(mode: TimeMode, dumped: DumpedClocks, host: HostClocks): RestoreClockPlan {
  const sameBoot = dumped.bootId === host.bootId;
  const goesBack = clocksGoingBack(dumped, host);

  if (!host.timeNamespaces) {
    const warnings = [
      "this kernel has no time namespaces: the container is restored on the host's clocks",
      ...goesBack.map((c) => `its ${c.clock} clock goes back by ${c.byNs} ns`),
    ];
    return { kind: "host-namespace", mode, reason: "the kernel has no time namespaces", warnings };
  }

  if (mode === "host" || (mode === "auto" && !dumped.declaredTimeNamespace && sameBoot && goesBack.length === 0)) {
    if (goesBack.length > 0) {
      return {
        kind: "refused",
        mode,
        reason: `joining the host's time namespace would move the container's clocks backwards (${goesBack.map((c) => `${c.clock} by ${c.byNs} ns`).join(", ")})${sameBoot ? "" : ": it was checkpointed on another boot"}`,
        hint: "restore with --time-mode continue (clocks resume where they stopped) or suspend (boottime counts the downtime)",
      };
    }
    return {
      kind: "host-namespace",
      mode,
      reason: mode === "host" ? "asked for the host's clocks, and neither goes backwards" : "no time namespace of its own, restored on the same boot",
      warnings: [],
    };
  }

  // continue, suspend, or auto falling back to continue.
  const warnings: string[] = [];
  let boottimeNs = dumped.boottimeNs;
  if (mode === "suspend") {
    const elapsedNs = host.realtimeNs - dumped.hostRealtimeNs;
    if (elapsedNs < 0n) warnings.push(`the host's realtime clock is ${-elapsedNs} ns behind the dump's: boottime resumes without counting the downtime`);
    else boottimeNs += elapsedNs;
  }
  const reason =
    mode === "suspend"
      ? "monotonic resumes, boottime counts the downtime"
      : mode === "auto"
        ? dumped.declaredTimeNamespace
          ? "the container had its own time namespace: its clocks resume from their dumped values"
          : sameBoot
            ? "the host's clocks are behind the dumped ones: the clocks resume from their dumped values"
            : "checkpointed on another boot: the clocks resume from their dumped values"
        : "the clocks resume from their dumped values";
  return {
    kind: "new-namespace",
    mode,
    monotonicNs: dumped.monotonicNs,
    boottimeNs,
    offsets: { monotonicNs: dumped.monotonicNs - host.monotonicNs, boottimeNs: boottimeNs - host.boottimeNs },
    reason,
    warnings,
  };
}

// The clocks that would read less on the host now than the container saw at the dump.
function clocksGoingBack(dumped: DumpedClocks, host: HostClocks): { clock: "monotonic" | "boottime"; byNs: bigint }[] {
  const back: { clock: "monotonic" | "boottime"; byNs: bigint }[] = [];
  if (host.monotonicNs < dumped.monotonicNs) back.push({ clock: "monotonic", byNs: dumped.monotonicNs - host.monotonicNs });
  if (host.boottimeNs < dumped.boottimeNs) back.push({ clock: "boottime", byNs: dumped.boottimeNs - host.boottimeNs });
  return back;
}
