// Decides a container's network from the bundle's spec and the operator's flags, and what
// ckpt's bundle then says about it. Pure: the apply side is network-namespace.ts.
import { isIP } from "node:net";
import { CkptError, ExitCode } from "../errors.ts";
import type { OciSpec } from "../oci/spec.ts";
import type { NetworkConfig, NetworkModeFlag, Route, Veth } from "./network-config.ts";

export interface NetworkRequest {
  mode?: NetworkModeFlag | undefined;
  // --ip ADDR/PREFIX (repeatable): addresses of the container's eth0.
  ips?: string[] | undefined;
  // --gateway ADDR: the default route of the container.
  gateway?: string | undefined;
  // --bridge NAME: the host's end of the veth goes on this bridge.
  bridge?: string | undefined;
  // --mac-address: eth0's MAC; derived from the container id otherwise.
  mac?: string | undefined;
  mtu?: number | undefined;
}

// The name of the network namespace entry in an OCI spec.
const NET = "network";

// podman's spelling: none, private, host, ns:PATH.
export function parseNetworkMode(text: string): NetworkModeFlag {
  if (text === "none" || text === "private" || text === "host") return text;
  if (text.startsWith("ns:")) {
    const path = text.slice(3);
    if (!path.startsWith("/")) throw new CkptError(ExitCode.usage, `--network ${text}: the namespace path must be absolute`, { hint: "for example --network ns:/run/netns/blue" });
    return { ns: path };
  }
  throw new CkptError(ExitCode.usage, `unknown --network mode "${text}"`, { hint: "use none (loopback only), private (loopback plus --ip on a veth), host, or ns:PATH" });
}

export function planNetwork(spec: OciSpec, request: NetworkRequest, containerId: string): NetworkConfig {
  const specNet = (spec.linux?.namespaces ?? []).find((ns) => ns.type === NET);
  const mode: NetworkModeFlag = request.mode ?? (specNet === undefined ? "host" : specNet.path !== undefined ? { ns: specNet.path } : "private");
  const ips = request.ips ?? [];
  const wantsVeth = ips.length > 0 || request.bridge !== undefined || request.gateway !== undefined || request.mac !== undefined || request.mtu !== undefined;
  if (mode === "host" || typeof mode === "object" || mode === "none") {
    if (wantsVeth) {
      const named = typeof mode === "object" ? `ns:${mode.ns}` : mode;
      throw new CkptError(ExitCode.usage, `--ip, --gateway, --bridge, --mac-address and --mtu configure a private network; --network ${named} takes none of them`, { hint: "use --network private with them" });
    }
    if (mode === "host") return { mode: "host" };
    if (typeof mode === "object") return { mode: "ns", path: mode.ns };
    return { mode: "private", interfaces: [], routes: [] };
  }
  if (wantsVeth && ips.length === 0) throw new CkptError(ExitCode.usage, "a veth interface needs an address: give --ip ADDR/PREFIX", { hint: "for example --network private --ip 192.0.2.50/24 --bridge br0" });
  for (const ip of ips) checkCidr(ip);
  if (request.gateway !== undefined && isIP(request.gateway) === 0) throw new CkptError(ExitCode.usage, `--gateway ${request.gateway} is not an IP address`);
  const mac = request.mac?.toLowerCase() ?? macFromId(containerId);
  if (!/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/.test(mac) || (parseInt(mac.slice(0, 2), 16) & 1) === 1) {
    throw new CkptError(ExitCode.usage, `--mac-address ${request.mac} is not a unicast MAC address`, { hint: "six pairs of hex digits, the first even, e.g. 02:42:c0:00:02:32" });
  }
  const interfaces: Veth[] = ips.length === 0 ? [] : [{ name: "eth0", mac, addresses: ips, hostEnd: { name: hostEndName(containerId), bridge: request.bridge ?? null }, mtu: request.mtu ?? null }];
  const routes: Route[] = request.gateway === undefined ? [] : [{ destination: "default", via: request.gateway }];
  return { mode: "private", interfaces, routes };
}

// The spec ckpt gives the runtime: a private network joins the namespace ckpt made at
// `managedPath`; ns:PATH joins the operator's; host has no network namespace entry.
export function specWithNetwork(spec: OciSpec, config: NetworkConfig, managedPath: string): OciSpec {
  const out = structuredClone(spec);
  const others = (out.linux?.namespaces ?? []).filter((ns) => ns.type !== NET);
  const entry = config.mode === "private" ? [{ type: NET, path: managedPath }] : config.mode === "ns" ? [{ type: NET, path: config.path }] : [];
  if (out.linux !== undefined || entry.length > 0) out.linux = { ...out.linux, namespaces: [...others, ...entry] };
  return out;
}

// The network for restoring a dump whose namespace CRIU left external, when nothing
// recorded how it was built: the spec's path where it exists here and the spec is the
// operator's own (a local --bundle), else a private namespace with loopback only. A path
// in an imported spec is never joined: it could name any namespace of this host.
export function networkForExternalDump(spec: OciSpec, exists: (path: string) => boolean, trustSpecPaths: boolean): NetworkConfig {
  const path = (spec.linux?.namespaces ?? []).find((ns) => ns.type === NET)?.path;
  return trustSpecPaths && path !== undefined && exists(path) ? { mode: "ns", path } : { mode: "private", interfaces: [], routes: [] };
}

// Where an imported checkpoint may ask to join an operator's namespace: the named
// namespaces of `ip netns` only. /proc/PID/ns/net, or a bind mount anywhere else, could
// be the host's own namespace or another container's.
export const IMPORTABLE_NETNS_DIRS = ["/run/netns/", "/var/run/netns/"];

// Why an imported checkpoint's recorded network is not taken as it is; null when it is.
// `resolved` is the path with its links followed (null when it does not exist).
export function importedNetworkProblem(config: NetworkConfig, resolved: (path: string) => string | null): string | null {
  if (config.mode !== "ns") return null;
  const real = resolved(config.path);
  const named = (p: string) => IMPORTABLE_NETNS_DIRS.some((d) => p.startsWith(d) && !p.slice(d.length).includes("/") && p.length > d.length);
  if (real === null) return `it joins the network namespace ${config.path}, which does not exist here`;
  if (!named(config.path) || !named(real)) return `it asks to join the network namespace ${config.path}; an imported checkpoint may join only a named namespace (${IMPORTABLE_NETNS_DIRS[0]}NAME, made with ip netns add)`;
  return null;
}

// `ip -batch` lines that configure a fresh namespace as `config` says, run inside it. The
// veth itself is created from the host's side (hostCommands).
export function namespaceCommands(config: Extract<NetworkConfig, { mode: "private" }>): string[] {
  const lines = ["link set lo up"];
  for (const i of config.interfaces) {
    lines.push(`link set dev ${i.name} address ${i.mac}${i.mtu === null ? "" : ` mtu ${i.mtu}`}`);
    // nodad: the address is the container's own, carried from the dump; waiting for
    // duplicate address detection would leave an IPv6 address unusable at restore.
    for (const a of i.addresses) lines.push(`addr add ${a} dev ${i.name}${a.includes(":") ? " nodad" : ""}`);
    lines.push(`link set dev ${i.name} up`);
  }
  for (const r of config.routes) lines.push(`route add ${r.destination} via ${r.via}`);
  return lines;
}

// `ip -batch` lines run in ckpt's own namespace: each veth pair, its container end moved
// into the namespace at `nsPath`, its host end on its bridge, and up unless `hostEndsUp` is
// false. Before a restore the host ends stay down: the container's side is complete (CRIU
// reconnects its TCP sockets through its routes) but no packet can reach it, for one that
// came before CRIU had put the socket back would be answered with a reset.
export function hostCommands(config: Extract<NetworkConfig, { mode: "private" }>, nsPath: string, hostEndsUp = true): string[] {
  return config.interfaces.flatMap((i) => [
    `link add ${i.hostEnd.name}${i.mtu === null ? "" : ` mtu ${i.mtu}`} type veth peer name ${i.name} netns ${nsPath}`,
    ...(i.hostEnd.bridge === null ? [] : [`link set dev ${i.hostEnd.name} master ${i.hostEnd.bridge}`]),
    ...(hostEndsUp ? [`link set dev ${i.hostEnd.name} up`] : []),
  ]);
}

// What opens a namespace made with its host ends down, once the sockets are back.
export function upCommands(config: Extract<NetworkConfig, { mode: "private" }>): string[] {
  return config.interfaces.map((i) => `link set dev ${i.hostEnd.name} up`);
}

// What this host already has, for the check below.
export interface HostNetworkFacts {
  // Interfaces in ckpt's namespace, with whether each is a bridge.
  links: { name: string; bridge: boolean }[];
  // Addresses of ckpt's namespace, without prefix.
  addresses: string[];
  // Other containers of this host, by name, with their private addresses (no prefix).
  containers: { name: string; addresses: string[]; hostEnds: string[] }[];
}

// Why `config` cannot be built on this host (empty when it can): a missing bridge, an
// address or interface name another container or the host already uses.
export function networkProblems(config: NetworkConfig, host: HostNetworkFacts, nsPathExists: (path: string) => boolean): string[] {
  if (config.mode === "host") return [];
  if (config.mode === "ns") return nsPathExists(config.path) ? [] : [`the network namespace ${config.path} does not exist on this host (ns: namespaces are the operator's to create)`];
  const problems: string[] = [];
  for (const i of config.interfaces) {
    const bridge = i.hostEnd.bridge;
    if (bridge !== null && !host.links.some((l) => l.name === bridge && l.bridge)) problems.push(`there is no bridge ${bridge} on this host for ${i.name}`);
    for (const cidr of i.addresses) {
      const address = cidr.split("/")[0]!;
      if (host.addresses.includes(address)) problems.push(`the address ${address} of ${i.name} is already on one of this host's interfaces`);
      for (const other of host.containers) if (other.addresses.includes(address)) problems.push(`the address ${address} of ${i.name} is already used by container "${other.name}"`);
    }
    const owner = host.containers.find((c) => c.hostEnds.includes(i.hostEnd.name));
    if (owner !== undefined) problems.push(`the interface ${i.hostEnd.name} already belongs to container "${owner.name}"`);
    else if (host.links.some((l) => l.name === i.hostEnd.name)) problems.push(`an interface named ${i.hostEnd.name} already exists on this host`);
  }
  return problems;
}

// Addresses without prefix a config gives the container (for networkProblems).
export function privateAddresses(config: NetworkConfig | undefined): string[] {
  return config?.mode === "private" ? config.interfaces.flatMap((i) => i.addresses.map((a) => a.split("/")[0]!)) : [];
}

function checkCidr(cidr: string): void {
  const [address, prefix, ...rest] = cidr.split("/");
  const family = isIP(address ?? "");
  const bits = Number(prefix);
  if (rest.length > 0 || family === 0 || prefix === undefined || !/^\d+$/.test(prefix) || bits > (family === 4 ? 32 : 128)) {
    throw new CkptError(ExitCode.usage, `--ip ${cidr} is not an address with a prefix length`, { hint: "for example --ip 192.0.2.50/24 or --ip 2001:db8::50/64" });
  }
}

// A locally administered unicast MAC from the container id: stable, so that a restored
// container answers with the same MAC and its peers' ARP caches stay right.
export function macFromId(id: string): string {
  const bytes = [0x02, ...[0, 2, 4, 6, 8].map((i) => parseInt(id.slice(i, i + 2), 16))];
  return bytes.map((b) => b.toString(16).padStart(2, "0")).join(":");
}

// The host's end of the container's veth: "ck" and the start of the id (15 bytes at most).
export function hostEndName(id: string): string {
  return `ck${id.slice(0, 12)}`;
}
