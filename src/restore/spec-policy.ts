// What an imported checkpoint's spec may ask of this host. Pure: the restore refuses
// every finding unless the operator allows its kind with --allow KIND (or gives the spec
// with --spec FILE, or the checkpoint is signed by a key this host trusts).
//
// A spec that came with an archive (a migration, podman's or CRI-O's export, anything
// ckpt did not make here) is the sender's. CRIU ignores most of it during the restore, but
// the runtime runs its hooks on the host as root before the container exists, and the
// first restart starts a container from it: with the host's files mounted, more
// privileges, the host's namespaces, fewer walls. None of that is taken unasked.
import { posix } from "node:path";
import { CkptError, ExitCode } from "../errors.ts";
import { isBindMount, type OciSpec } from "../oci/spec.ts";
import { disguisedSpecKeys } from "../oci/spec-keys.ts";
import type { NetworkConfig } from "../store/network-config.ts";

export const allowableKinds = ["hooks", "mounts", "capabilities", "namespaces", "devices", "sysctls", "confinement", "masked-paths", "rlimits", "rootfs", "annotations", "network"] as const;
export type AllowableKind = (typeof allowableKinds)[number];

// What each kind gives the container, for the refusal's hint.
export const kindRisks: Record<AllowableKind, string> = {
  hooks: "hooks run on this host as root",
  mounts: "bind mounts and file system mounts give the container this host's files and disks",
  capabilities: "capabilities beyond the default set give the container power over this host",
  namespaces: "a namespace given by path, or none, is this host's",
  devices: "devices give the container this host's hardware",
  sysctls: "sysctls outside the namespaced safe set change this host's kernel",
  confinement: "an unconfined profile drops a wall the container had",
  "masked-paths": "unmasked /proc and /sys paths show and change this host's kernel",
  rlimits: "limits above this host's let the container take more than ckpt itself may",
  rootfs: "a root filesystem the archive does not carry is a directory of this host",
  annotations: "annotations the runtime acts on change how it treats this host",
  network: "a bridge of this host puts the container on its network, with the MAC and addresses the archive chose",
};

// "disguised": a key runc reads as a field of another spelling (oci/spec-keys.ts); no flag
// allows it, since what the spec asks could not be shown.
export interface SpecFinding {
  kind: AllowableKind | "disguised";
  detail: string;
}

// The facts the policy weighs beside the spec.
export interface PolicyContext {
  // Where a bind mount's source may lie without asking: ckpt's directory of stand-ins for
  // an engine's files. Never the root filesystem: a link in it leads a bind anywhere.
  ownRoots: readonly string[];
  // ckpt builds the network namespace itself (its record of the container's network, or
  // the operator's --network): the spec's network entry is replaced, so it is not vetted.
  networkManaged: boolean;
  // The engine that made the checkpoint confines its containers by default (podman and
  // CRI-O set a seccomp profile unless told not to): a spec without one was unconfined.
  engineConfinesByDefault: boolean;
  // This host's hard limits (ckpt's own, by RLIMIT_ name; null: unlimited).
  hostRlimits: ReadonlyMap<string, bigint | null>;
  // The root filesystem is the one ckpt unpacks from the archive; otherwise root.path
  // names a directory of this host.
  rootfsUnpacked: boolean;
  // The network the checkpoint's record asks ckpt to build (not the operator's --network).
  recordedNetwork: NetworkConfig | undefined;
}

export const DEFAULT_POLICY_CONTEXT: PolicyContext = { ownRoots: [], networkManaged: false, engineConfinesByDefault: false, hostRlimits: new Map(), rootfsUnpacked: true, recordedNetwork: undefined };

// The default capability set of container engines (moby's and containerd's; podman's and
// `runc spec`'s are subsets of it).
export const DEFAULT_CAPABILITIES = new Set([
  "CAP_AUDIT_WRITE", "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL", "CAP_MKNOD",
  "CAP_NET_BIND_SERVICE", "CAP_NET_RAW", "CAP_SETFCAP", "CAP_SETGID", "CAP_SETPCAP", "CAP_SETUID", "CAP_SYS_CHROOT",
]);

// Kubernetes' safe sysctls: namespaced, and unable to affect other containers or the host.
// The net.* ones are namespaced only in a network namespace of the container's own.
export const SAFE_SYSCTLS = new Set([
  "kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.ip_local_reserved_ports", "net.ipv4.ip_unprivileged_port_start",
  "net.ipv4.ping_group_range", "net.ipv4.tcp_syncookies", "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout",
  "net.ipv4.tcp_keepalive_intvl", "net.ipv4.tcp_keepalive_probes", "net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem",
]);

// The walls every engine's default spec has (runc's, crun's, podman's): the rest of their
// lists vary, these never do.
export const REQUIRED_MASKED_PATHS = ["/proc/kcore", "/proc/keys", "/proc/timer_list", "/sys/firmware"];
export const REQUIRED_READONLY_PATHS = ["/proc/bus", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"];

// Namespaces without which the container shares this host's.
const REQUIRED_NAMESPACES = ["pid", "network", "ipc", "mount"];

const HOOK_PHASES = ["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"];

// The parts of a spec the policy reads beyond OciSpec's.
interface VettedSpec {
  hooks?: Record<string, unknown>;
  process: {
    capabilities?: Record<string, unknown>;
    rlimits?: { type?: unknown; soft?: unknown; hard?: unknown }[];
    apparmorProfile?: unknown;
    selinuxLabel?: unknown;
  };
  linux?: {
    namespaces?: { type: string; path?: string }[];
    devices?: { path?: unknown; type?: unknown; major?: unknown; minor?: unknown }[];
    resources?: { devices?: { allow?: unknown; type?: unknown; major?: unknown; minor?: unknown; access?: unknown }[] };
    sysctl?: Record<string, unknown>;
    seccomp?: { defaultAction?: unknown; syscalls?: unknown[] };
    maskedPaths?: unknown[];
    readonlyPaths?: unknown[];
  };
}

export function vetImportedSpec(spec: OciSpec, context: Partial<PolicyContext> = {}): SpecFinding[] {
  const ctx = { ...DEFAULT_POLICY_CONTEXT, ...context };
  const s = spec as unknown as VettedSpec;
  const ownNetwork = ctx.networkManaged || (s.linux?.namespaces ?? []).some((n) => n.type === "network" && n.path === undefined);
  return [
    ...disguisedSpecKeys(spec).map((k): SpecFinding => ({ kind: "disguised", detail: `${k.path}: runc would read it as "${k.readAs}"` })),
    ...rootfsFindings(spec, ctx),
    ...hookFindings(s),
    ...mountFindings(spec, ctx),
    ...capabilityFindings(s),
    ...namespaceFindings(s, ctx),
    ...deviceFindings(s),
    ...sysctlFindings(s, ownNetwork),
    ...confinementFindings(s, ctx),
    ...maskedPathFindings(s),
    ...rlimitFindings(s, ctx),
    ...annotationFindings(spec),
    ...networkFindings(ctx),
  ];
}

function rootfsFindings(spec: OciSpec, ctx: PolicyContext): SpecFinding[] {
  if (ctx.rootfsUnpacked) return [];
  return [{ kind: "rootfs", detail: `root.path ${spec.root.path}: a directory of this host the archive names, not a root filesystem it carries` }];
}

function hookFindings(s: VettedSpec): SpecFinding[] {
  const hooks = s.hooks;
  if (hooks === undefined || hooks === null || typeof hooks !== "object") return [];
  return Object.entries(hooks).flatMap(([phase, list]) => {
    if (!Array.isArray(list)) return [];
    const known = HOOK_PHASES.includes(phase) ? phase : `${phase} (unknown phase)`;
    return list.map((hook: { path?: unknown; args?: unknown }, i): SpecFinding => {
      const args = Array.isArray(hook?.args) ? hook.args.map(String).slice(1).join(" ") : "";
      return { kind: "hooks", detail: `hooks.${known}[${i}]: ${String(hook?.path ?? "?")}${args === "" ? "" : ` ${args}`}` };
    });
  });
}

// File systems that hold nothing of the host's (the kernel's views, memory), each where
// the engines mount it: a second proc or sysfs elsewhere would lack the masked and
// read-only paths, which cover /proc and /sys only. null: anywhere.
const VIRTUAL_FILESYSTEMS = new Map<string, string | null>([
  ["proc", "/proc"], ["sysfs", "/sys"], ["devpts", "/dev/pts"], ["mqueue", "/dev/mqueue"], ["cgroup", "/sys/fs/cgroup"], ["cgroup2", "/sys/fs/cgroup"], ["tmpfs", null], ["shm", null],
]);

function mountFindings(spec: OciSpec, ctx: PolicyContext): SpecFinding[] {
  const roots = ctx.ownRoots.map((r) => posix.normalize(r).replace(/\/+$/, ""));
  return (spec.mounts ?? []).flatMap((mount): SpecFinding[] => {
    if (!isBindMount(mount)) {
      // Any other file system (overlay's lowerdir=, a block device, nfs) names host things.
      const at = mount.type === undefined ? undefined : VIRTUAL_FILESYSTEMS.get(mount.type);
      if (at === null || (at !== undefined && posix.normalize(mount.destination).replace(/(.)\/+$/, "$1") === at)) return [];
      if (at !== undefined) return [{ kind: "mounts", detail: `${mount.destination}: a ${mount.type} mount outside ${at}, where no masked or read-only path covers it` }];
      const options = (mount.options ?? []).filter((o) => o.includes("/")).join(",");
      return [{ kind: "mounts", detail: `${mount.destination}: a mount of type ${mount.type ?? "(none)"} from ${mount.source ?? "?"}${options === "" ? "" : ` (${options})`}` }];
    }
    const source = posix.normalize(mount.source ?? "/");
    const own = roots.some((r) => source === r || source.startsWith(`${r}/`));
    return own ? [] : [{ kind: "mounts", detail: `${mount.destination}: a bind mount of this host's ${mount.source ?? "(no source)"}` }];
  });
}

// Annotations crun acts on (run.oci.*: handlers, seccomp receivers, cgroup and group
// behaviour); podman's, CRI-O's and ckpt's own are records, not instructions.
function annotationFindings(spec: OciSpec): SpecFinding[] {
  return Object.entries(spec.annotations ?? {})
    .filter(([key]) => key.startsWith("run.oci."))
    .map(([key, value]): SpecFinding => ({ kind: "annotations", detail: `annotations: ${key}=${value}` }));
}

function capabilityFindings(s: VettedSpec): SpecFinding[] {
  const sets = s.process.capabilities ?? {};
  const extra = new Set<string>();
  for (const list of Object.values(sets)) {
    if (!Array.isArray(list)) continue;
    for (const cap of list.map(String)) if (!DEFAULT_CAPABILITIES.has(cap.toUpperCase())) extra.add(cap);
  }
  return [...extra].sort().map((cap) => ({ kind: "capabilities", detail: `process.capabilities: ${cap}, beyond the default set` }));
}

function namespaceFindings(s: VettedSpec, ctx: PolicyContext): SpecFinding[] {
  const namespaces = s.linux?.namespaces ?? [];
  const findings: SpecFinding[] = [];
  for (const ns of namespaces) {
    if (ns.path === undefined || (ns.type === "network" && ctx.networkManaged)) continue;
    findings.push({ kind: "namespaces", detail: `linux.namespaces: ${ns.type} joins ${ns.path}` });
  }
  for (const type of REQUIRED_NAMESPACES) {
    if (type === "network" && ctx.networkManaged) continue;
    if (!namespaces.some((ns) => ns.type === type)) findings.push({ kind: "namespaces", detail: `linux.namespaces: no ${type} namespace, so the container would share this host's` });
  }
  return findings;
}

function deviceFindings(s: VettedSpec): SpecFinding[] {
  const nodes = (s.linux?.devices ?? []).map((d): SpecFinding => ({ kind: "devices", detail: `linux.devices: ${String(d.path ?? "?")} (${String(d.type ?? "?")} ${String(d.major ?? "?")}:${String(d.minor ?? "?")})` }));
  const rules = (s.linux?.resources?.devices ?? [])
    .filter((r) => r.allow === true)
    .map((r): SpecFinding => ({ kind: "devices", detail: `linux.resources.devices: allows ${String(r.type ?? "a")} ${r.major ?? "*"}:${r.minor ?? "*"} ${String(r.access ?? "rwm")}` }));
  return [...nodes, ...rules];
}

function sysctlFindings(s: VettedSpec, ownNetwork: boolean): SpecFinding[] {
  return Object.entries(s.linux?.sysctl ?? {})
    .filter(([key]) => !SAFE_SYSCTLS.has(key) || (key.startsWith("net.") && !ownNetwork))
    .map(([key, value]): SpecFinding => ({ kind: "sysctls", detail: `linux.sysctl: ${key}=${String(value)}${SAFE_SYSCTLS.has(key) ? " without a network namespace of its own" : ""}` }));
}

// Seccomp actions that let a system call run.
const PERMISSIVE_ACTIONS = new Set(["SCMP_ACT_ALLOW", "SCMP_ACT_LOG"]);

function confinementFindings(s: VettedSpec, ctx: PolicyContext): SpecFinding[] {
  const findings: SpecFinding[] = [];
  const seccomp = s.linux?.seccomp;
  if (seccomp === undefined || seccomp === null) {
    if (ctx.engineConfinesByDefault) findings.push({ kind: "confinement", detail: "linux.seccomp: none, where the engine that made it sets a profile unless told not to" });
  } else if (PERMISSIVE_ACTIONS.has(String(seccomp.defaultAction)) && !(seccomp.syscalls ?? []).some((rule) => !PERMISSIVE_ACTIONS.has(String((rule as { action?: unknown })?.action)))) {
    findings.push({ kind: "confinement", detail: `linux.seccomp: ${String(seccomp.defaultAction)} by default and no rule that refuses anything (unconfined)` });
  }
  if (typeof s.process.apparmorProfile === "string" && s.process.apparmorProfile.trim() === "unconfined") findings.push({ kind: "confinement", detail: "process.apparmorProfile: unconfined" });
  if (typeof s.process.selinuxLabel === "string" && /(^|:)(spc_t|[a-z_]*unconfined[a-z_]*)(:|$)/.test(s.process.selinuxLabel)) findings.push({ kind: "confinement", detail: `process.selinuxLabel: ${s.process.selinuxLabel} (unconfined)` });
  return findings;
}

function maskedPathFindings(s: VettedSpec): SpecFinding[] {
  const masked = new Set((s.linux?.maskedPaths ?? []).map(String));
  const readonly = new Set((s.linux?.readonlyPaths ?? []).map(String));
  const unmasked = REQUIRED_MASKED_PATHS.filter((p) => !masked.has(p));
  const writable = REQUIRED_READONLY_PATHS.filter((p) => !readonly.has(p));
  return [
    ...(unmasked.length === 0 ? [] : [{ kind: "masked-paths" as const, detail: `linux.maskedPaths: ${masked.size === 0 ? "none" : `lacks ${unmasked.join(", ")}`}` }]),
    ...(writable.length === 0 ? [] : [{ kind: "masked-paths" as const, detail: `linux.readonlyPaths: ${readonly.size === 0 ? "none" : `lacks ${writable.join(", ")}`}` }]),
  ];
}

function rlimitFindings(s: VettedSpec, ctx: PolicyContext): SpecFinding[] {
  return (s.process.rlimits ?? []).flatMap((r): SpecFinding[] => {
    const type = String(r.type ?? "?");
    const host = ctx.hostRlimits.get(type);
    if (host === null || host === undefined) return [];
    const asked = [r.soft, r.hard].map((v) => (typeof v === "number" && Number.isFinite(v) ? BigInt(Math.round(v)) : null));
    const over = asked.some((v) => v === null || v > host);
    return over ? [{ kind: "rlimits", detail: `process.rlimits: ${type} ${String(r.soft)}/${String(r.hard)}, above this host's ${host}` }] : [];
  });
}

// A recorded network that joins bridges of this host.
function networkFindings(ctx: PolicyContext): SpecFinding[] {
  if (ctx.recordedNetwork?.mode !== "private") return [];
  return ctx.recordedNetwork.interfaces
    .filter((i) => i.hostEnd.bridge !== null)
    .map((i): SpecFinding => ({ kind: "network", detail: `${i.name} joins this host's bridge ${i.hostEnd.bridge} with MAC ${i.mac}${i.addresses.length > 0 ? ` and ${i.addresses.join(", ")}` : ""}` }));
}

// The findings the operator has not allowed.
export function unallowed(findings: SpecFinding[], allow: ReadonlySet<string>): SpecFinding[] {
  return findings.filter((f) => !allow.has(f.kind));
}

// Throws, naming each finding, when the spec asks what `allow` does not let through:
// `refusal` says what is refused, `allowHint` leads the list of --allow flags that would.
export function refuseUnallowedSpec(findings: SpecFinding[], allow: readonly string[], refusal: string, allowHint: string): void {
  const refused = unallowed(findings, new Set(allow));
  if (refused.length === 0) return;
  const kinds = [...new Set(refused.map((f) => f.kind))].filter((k): k is AllowableKind => k !== "disguised");
  const disguised = refused.some((f) => f.kind === "disguised");
  throw new CkptError(ExitCode.refused, refusal, {
    evidence: [...refused.map((f) => `${f.kind}: ${f.detail}`), ...kinds.map((k) => `(${k}: ${kindRisks[k]})`)],
    hint: disguised
      ? "its spec spells keys so that ckpt would read one thing and runc another: nothing allows that; give the spec yourself with --spec FILE"
      : `${allowHint} ${kinds.map((k) => `--allow ${k}`).join(" ")}, or give the spec yourself with --spec FILE`,
  });
}
