// Turns probed host facts into doctor checks and a verdict. Pure: no I/O, so every
// branch is unit-tested on facts captured from real hosts.
import { CRIU_FLOOR_VERSION, CRIU_MIN_VERSION } from "../criu/version.ts";
import type { HostFacts } from "./host-facts.ts";
import type { KernelOption } from "../host/kernel.ts";
import { isAtLeast } from "../host/version.ts";
import { LAZY_PIPE_BYTES, lazyPipeProblem } from "../migrate/page-server.ts";
import { runtimeAdapter } from "../runtimes/index.ts";
import { createsTimeNamespace, execJoinsTimeNamespace, runtimeNames, type RuntimeName } from "../runtimes/runtime.ts";

export type Severity = "error" | "warning" | "info";

export interface DoctorCheck {
  id: string;
  ok: boolean;
  // How much a failure matters: "error" stops checkpoint/restore, "warning" a feature.
  severity: Severity;
  detail: string;
  // One line that fixes a failed check; null when the check passed.
  fix: string | null;
}

export interface RuntimeReport {
  // Its kind, and the name it is configured under (--runtime NAME), the kind's by default.
  name: RuntimeName;
  label: string;
  path: string;
  version: string | null;
  // Can checkpoint and restore containers on this host, all things considered.
  checkpoint: boolean;
  // The one-clock facts of this version (runtimes/runtime.ts): whether its exec joins a
  // restored container's time namespace (else ckpt exec enters it first), whether it gives
  // a new container a time namespace of its own, how a restore is put into one.
  execJoinsTimeNamespace: boolean;
  createsTimeNamespace: boolean;
  restoreJoinsTimeNamespaceVia: "criu-config" | "spec-namespace-path";
  lazyPages: boolean;
}

export interface DoctorReport {
  ok: boolean;
  checks: DoctorCheck[];
  criu: { path: string | null; version: string | null };
  runtimes: RuntimeReport[];
}

const SETUP = "run scripts/setup-host.sh as root";

export function evaluateHost(facts: HostFacts): DoctorReport {
  const checks: DoctorCheck[] = [];
  const add = (id: string, ok: boolean, severity: Severity, detail: string, fix: string) =>
    checks.push({ id, ok, severity, detail, fix: ok ? null : fix });

  // Kernel. CRIU's own probes are the best evidence; the build config is the fallback.
  const { criu, kernel } = facts;
  const kernelCR = kernelHas(facts, "CONFIG_CHECKPOINT_RESTORE", criu.check?.ok === true ? true : null);
  add("kernel.checkpoint-restore", kernelCR !== false, "error",
    kernelCR === null ? "could not confirm CONFIG_CHECKPOINT_RESTORE (no kernel config, CRIU not usable)" : kernelCR ? "CONFIG_CHECKPOINT_RESTORE=y" : "the kernel is built without CONFIG_CHECKPOINT_RESTORE",
    "boot a kernel built with CONFIG_CHECKPOINT_RESTORE=y");
  const timens = kernelHas(facts, "CONFIG_TIME_NS", criu.features.timens ?? (kernel.timeNamespaceFile || null));
  add("kernel.time-namespace", timens === true, "warning",
    timens ? "time namespaces available: restored containers keep their monotonic and boottime clocks" : "no time namespaces: restored containers see the host's clocks, which may jump backwards",
    "boot a kernel built with CONFIG_TIME_NS=y (Linux >= 5.6)");
  const uffd = kernelHas(facts, "CONFIG_USERFAULTFD", criu.features["uffd-noncoop"]);
  add("kernel.userfaultfd", uffd === true, "warning",
    uffd ? "userfaultfd available: post-copy migration (migrate --lazy) can work" : "no usable userfaultfd: post-copy migration (migrate --lazy) cannot work",
    "boot a kernel built with CONFIG_USERFAULTFD=y");
  const softDirty = kernelHas(facts, "CONFIG_MEM_SOFT_DIRTY", criu.features.mem_dirty_track);
  add("kernel.soft-dirty", softDirty === true, "info",
    softDirty ? "soft-dirty tracking available: pre-copy migration (--pre-dump) can work" : "no soft-dirty memory tracking: pre-copy migration (--pre-dump) cannot work; post-copy (--lazy) and plain migration still do",
    "boot a kernel built with CONFIG_MEM_SOFT_DIRTY=y (needed only for --pre-dump)");

  // CRIU.
  // Below the floor CRIU fails every command on this kernel; between the floor and the
  // minimum it fails only inet sockets (the criu.inet-sockets check, a warning).
  const criuVersionOk = criu.version !== null && isAtLeast(criu.version, CRIU_FLOOR_VERSION);
  const notFound = criu.requested === null ? "criu not found" : `no executable criu at ${criu.requested} (given with --criu)`;
  add("criu.version", criu.path !== null && criuVersionOk, "error",
    criu.path === null ? notFound : `criu ${criu.version ?? "(unknown version)"} at ${criu.path}${criuVersionOk ? "" : `: older than ${CRIU_FLOOR_VERSION}`}`,
    criu.path === null && criu.requested !== null
      ? "give --criu the path of an executable criu, or leave --criu out to use the installed one"
      : `${SETUP} (builds CRIU >= ${CRIU_MIN_VERSION} from Debian's source tarball)`);
  const criuCheckOk = criu.check?.ok === true;
  add("criu.check", criuCheckOk, "error",
    criu.check === null ? "criu check could not run" : criuCheckOk ? "criu check passes" : `criu check fails: ${criu.check.errorLines[0] ?? "no error line printed"}`,
    criu.path === null || !criuVersionOk ? `${SETUP} (installs a CRIU that passes)` : "run `criu check` as root and fix what it reports");
  const networkLock = facts.tools.iptablesRestore !== null;
  add("criu.network-lock", networkLock, "error",
    networkLock ? `iptables-restore at ${facts.tools.iptablesRestore}: CRIU can lock container networks` : "iptables-restore not found: checkpoints of containers with their own network namespace fail",
    "apt-get install iptables");
  // What matters, tried rather than inferred from versions: CRIU dumping a process that
  // holds a TCP listener and a UDP socket on the running kernel.
  const inet = criu.inetSockets;
  const criuLabel = `criu ${criu.version ?? "(unknown version)"} at ${criu.path}`;
  add("criu.inet-sockets", inet?.ok === true, "warning",
    inet === null
      ? criu.path === null ? "criu not found: could not try dumping inet sockets" : `could not try dumping inet sockets with ${criuLabel} (the ckpt-inet-probe helper did not run)`
      : inet.ok
        ? `${criuLabel} dumps TCP and UDP sockets on kernel ${kernel.release}${inet.cached ? " (probed earlier this boot)" : ""}`
        : `${criuLabel} cannot dump inet sockets on kernel ${kernel.release}: ${inet.errorLines[0]}; containers that hold a TCP or UDP socket (a listener included) cannot be checkpointed, others can`,
    criu.path !== null && inet === null
      ? "run scripts/build.sh (it builds the helper dist/native/ckpt-inet-probe)"
      : `${SETUP} (installs CRIU >= ${CRIU_MIN_VERSION}, which dumps inet sockets on Linux >= 6.16), or point --criu at CRIU >= ${CRIU_MIN_VERSION}`);
  const criuUsable = criu.path !== null && criuVersionOk && criuCheckOk && kernelCR !== false && networkLock;

  // cgroups.
  const { cgroups } = facts;
  const hybridBlocked = cgroups.mode === "hybrid" && cgroups.unifiedControllers.length > 0;
  add("cgroups.layout", !hybridBlocked && cgroups.mode !== "none", "warning",
    cgroups.mode === "none" ? "no cgroup hierarchy is mounted" : `${cgroups.mode} cgroups${cgroups.unifiedMount ? ` (cgroup2 at ${cgroups.unifiedMount}${cgroups.unifiedControllers.length ? ` holding ${cgroups.unifiedControllers.join(", ")}` : ""})` : ""}`,
    hybridBlocked ? `${SETUP} (binds ${cgroups.unifiedControllers.join(", ")} to v1 hierarchies so crun can run)` : "mount the cgroup hierarchies (systemd does this at boot)");

  // Runtimes.
  const runtimes = facts.runtimes.map((installed): RuntimeReport => {
    const adapter = runtimeAdapter(installed.name);
    const blockers = adapter.hostBlockers(cgroups);
    const checkpoint = installed.checkpointBuilt && criuUsable && blockers.length === 0;
    const execJoins = installed.version !== null && execJoinsTimeNamespace(adapter, installed.version);
    const creates = installed.version !== null && createsTimeNamespace(adapter, installed.version);
    const id = installed.label ?? installed.name;
    const label = `${installed.label === undefined ? "" : `${installed.label}: `}${installed.name} ${installed.version ?? "(unknown version)"} at ${installed.path}`;
    let detail = `${label}: can checkpoint and restore`;
    let fix = "";
    if (!installed.checkpointBuilt) {
      detail = `${label}: built without checkpoint/restore support`;
      fix = `${SETUP} (builds ${installed.name} with CRIU support)`;
    } else if (blockers.length > 0) {
      detail = `${label}: ${blockers.join("; ")}`;
      fix = SETUP;
    } else if (!criuUsable) {
      detail = `${label}: cannot checkpoint until CRIU works (see the criu and kernel checks)`;
      fix = SETUP;
    }
    add(`runtime.${id}`, checkpoint, "warning", detail, fix);
    const version = `${installed.name} ${installed.version ?? "(unknown version)"}`;
    add(`runtime.${id}.exec-timens`, execJoins, "info",
      execJoins
        ? `${version}'s exec joins a restored container's time namespace: ckpt relies on it, and plain \`${installed.name} exec\` agrees with ckpt exec`
        : `plain \`${installed.name} exec\` of ${version} starts processes on the host's clocks, not a restored container's: the container runs on two clocks and its next checkpoint may not restore (ckpt exec enters PID 1's time namespace first, so it does not have this problem)`,
      `use \`ckpt exec NAME -- CMD\`, which joins PID 1's time namespace on every version; or upgrade ${installed.name} to >= ${adapter.execJoinsTimeNamespaceSince}`);
    add(`runtime.${id}.run-timens`, creates, "info",
      creates
        ? `${version} gives a new container a time namespace of its own (ckpt asks for one, so its first restore keeps it)`
        : `${version} cannot give a new container a time namespace (it rejects {"type": "time"}): containers start on the host's clocks and get their own at their first restore`,
      `upgrade ${installed.name} to >= ${adapter.createsTimeNamespaceSince} for a time namespace from the start (not needed for one clock)`);
    return {
      name: installed.name,
      label: id,
      path: installed.path,
      version: installed.version,
      checkpoint,
      execJoinsTimeNamespace: execJoins,
      createsTimeNamespace: creates,
      restoreJoinsTimeNamespaceVia: adapter.restoreJoinsTimeNamespaceVia,
      lazyPages: adapter.lazyPages,
    };
  });
  for (const missing of runtimeNames) {
    if (!runtimes.some((r) => r.name === missing)) {
      add(`runtime.${missing}`, false, "warning", `${missing} not found`, `${SETUP} (installs runc and builds crun with CRIU support)`);
    }
  }
  for (const u of facts.unusableRuntimes ?? []) {
    add(`runtime.${u.name}`, false, "warning", `${u.name} is configured as ${u.path}, but ${u.reason}`, "fix the runtimes setting of the config file (ckpt config shows where it comes from)");
  }
  const usable = runtimes.filter((r) => r.checkpoint).map((r) => r.label);
  add("runtime.any", usable.length > 0, "error",
    usable.length > 0 ? `can checkpoint and restore with ${usable.join(", ")}` : "no OCI runtime can checkpoint and restore on this host",
    SETUP);

  // Limits and helpers.
  const { process: proc } = facts;
  add("process.rlimits", proc.capSysResource, "info",
    proc.capSysResource
      ? "CAP_SYS_RESOURCE held: rlimits can be raised"
      : `no CAP_SYS_RESOURCE: rlimits cannot be raised above the hard limits (open files: ${proc.nofileHard ?? "unlimited"}); containers whose config.json asks for more fail to start, and CRIU logs a harmless "Can't setup RLIMIT_NOFILE" error`,
    `keep process.rlimits in config.json at or below the hard limits (ulimit -Hn is ${proc.nofileHard ?? "unlimited"})`);
  if (proc.pipeMaxSize != null) {
    const pipes = lazyPipeProblem(proc.pipeMaxSize, proc.capSysResource);
    add("process.pipe-max-size", pipes === null, "warning",
      pipes ?? `CRIU's page server can get its ${LAZY_PIPE_BYTES}-byte pipes (fs.pipe-max-size ${proc.pipeMaxSize}${proc.capSysResource ? ", CAP_SYS_RESOURCE held" : ""}): migrate --lazy can serve memory`,
      `sysctl -w fs.pipe-max-size=${LAZY_PIPE_BYTES} (${SETUP} does; needed only for migrate --lazy)`);
  }
  add("tools.conmon", facts.tools.conmon !== null, "warning",
    facts.tools.conmon ? `conmon at ${facts.tools.conmon}: containers can be monitored across checkpoints` : "conmon not found: `ckpt run` needs it to hold container stdio across checkpoints",
    "apt-get install conmon");
  const networkTools = (["ip", "unshare", "nsenter"] as const).filter((t) => (facts.tools[t] ?? null) === null);
  add("tools.network", networkTools.length === 0, "warning",
    networkTools.length === 0 ? "ip, unshare and nsenter found: ckpt can build private network namespaces that survive restores" : `${networkTools.join(", ")} not found: containers on private networks (the default when the spec asks for a network namespace) cannot run or be restored`,
    "apt-get install iproute2 util-linux");

  return {
    ok: usable.length > 0,
    checks,
    criu: { path: criu.path, version: criu.version },
    runtimes,
  };
}

// true/false from CRIU's probe when it answered, else from the kernel config; null: unknown.
function kernelHas(facts: HostFacts, option: KernelOption, criuSays: boolean | null): boolean | null {
  if (criuSays !== null) return criuSays;
  const value = facts.kernel.config?.[option];
  return value === undefined || value === null ? null : value !== "n";
}
