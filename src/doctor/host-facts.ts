// Everything ckpt probes about the host, gathered once: the input of `ckpt doctor` and
// of the capability decisions later commands make. Here, not in host/, because it asks
// CRIU and the runtimes too (host/ is below them).
import { probeCriu, type CriuFacts } from "../criu/probe.ts";
import { probeRuntimes, type ConfiguredRuntime, type InstalledRuntime, type UnusableRuntime } from "../runtimes/index.ts";
import { readCgroupFacts, type CgroupFacts } from "../host/cgroups.ts";
import { findExecutable } from "../host/find-executable.ts";
import { readKernelFacts, type KernelFacts } from "../host/kernel.ts";
import { readProcessLimitFacts, type ProcessLimitFacts } from "../host/process-limits.ts";

export interface HostFacts {
  kernel: KernelFacts;
  criu: CriuFacts;
  runtimes: InstalledRuntime[];
  // Configured runtime binaries that cannot be used (absent from facts of older ckpt).
  unusableRuntimes?: UnusableRuntime[];
  cgroups: CgroupFacts;
  process: ProcessLimitFacts;
  tools: {
    // CRIU locks a container's network with iptables-restore by default.
    iptablesRestore: string | null;
    // The monitor `ckpt run` starts for each container.
    conmon: string | null;
    // What builds private networks (network/): iproute2's ip, util-linux's unshare and
    // nsenter. Absent from facts recorded before ckpt managed networks.
    ip?: string | null;
    unshare?: string | null;
    nsenter?: string | null;
  };
}

export interface GatherOptions {
  criuPath?: string | undefined;
  // The runtimes the settings name (runtimes/choice.ts); default: runc and crun on PATH.
  runtimes?: readonly ConfiguredRuntime[] | undefined;
}

export async function gatherHostFacts(options: GatherOptions = {}): Promise<HostFacts> {
  const [criu, runtimes] = await Promise.all([probeCriu(options.criuPath), probeRuntimes(options.runtimes)]);
  return {
    kernel: readKernelFacts(),
    criu,
    runtimes: runtimes.installed,
    unusableRuntimes: runtimes.unusable,
    cgroups: readCgroupFacts(),
    process: readProcessLimitFacts(),
    tools: { iptablesRestore: findExecutable("iptables-restore"), conmon: findExecutable("conmon"), ip: findExecutable("ip"), unshare: findExecutable("unshare"), nsenter: findExecutable("nsenter") },
  };
}
