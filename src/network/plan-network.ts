// Decides a container's network from the bundle's spec and the operator's flags, and what
// ckpt's bundle then says about it. Pure: the apply side is network-namespace.ts.
import { CkptError, ExitCode } from "../errors.ts";
import type { OciSpec } from "../oci/spec.ts";
import type { NetworkConfig, NetworkModeFlag, Route, Veth } from "../store/network-config.ts";
import { canonicalAddress, formatAddress, formatCidr, inSubnet, parseAddress, parseCidr, unusableAddress, type ParsedCidr } from "./addresses.ts";

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
  const addresses = ips.map(checkCidr);
  const gateway = request.gateway === undefined ? undefined : checkGateway(request.gateway, addresses);
  const mac = request.mac?.toLowerCase() ?? macFromId(containerId);
  if (!/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/.test(mac) || (parseInt(mac.slice(0, 2), 16) & 1) === 1 || mac === "00:00:00:00:00:00") {
    throw new CkptError(ExitCode.usage, `--mac-address ${request.mac} is not a unicast MAC address`, { hint: "six pairs of hex digits, the first even and not all zero, e.g. 02:42:c0:00:02:32" });
  }
  if (request.mtu !== undefined && !(Number.isInteger(request.mtu) && request.mtu >= 68 && request.mtu <= 65535)) {
    throw new CkptError(ExitCode.usage, `--mtu ${String(request.mtu)} is not an MTU`, { hint: "a whole number of bytes from 68 to 65535; 1500 on most Ethernet networks" });
  }
  const interfaces: Veth[] = ips.length === 0 ? [] : [{ name: "eth0", mac, addresses: addresses.map(formatCidr), hostEnd: { name: hostEndName(containerId), bridge: request.bridge ?? null }, mtu: request.mtu ?? null }];
  const routes: Route[] = gateway === undefined ? [] : [{ destination: "default", via: gateway }];
  return { mode: "private", interfaces, routes };
}

// A spec that asks for a network namespace of its own: planNetwork's default is then
// "private" (a restore's --network flags, which have no bundle to default from).
export const PRIVATE_NETWORK_SPEC: OciSpec = { ociVersion: "1.0.2", process: { args: ["/"], cwd: "/" }, root: { path: "/" }, linux: { namespaces: [{ type: "network" }] } };

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
  if (!named(config.path) || (real !== null && !named(real))) return `it asks to join the network namespace ${config.path}; an imported checkpoint may join only a named namespace (${IMPORTABLE_NETNS_DIRS[0]}NAME, made with ip netns add)`;
  if (real === null) return `it joins the network namespace ${config.path}, which does not exist here`;
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
    `link add ${i.hostEnd.name}${i.mtu === null ? "" : ` mtu ${i.mtu}`} type veth peer name ${i.name} netns ${batchQuoted(nsPath)}`,
    ...(i.hostEnd.bridge === null ? [] : [`link set dev ${i.hostEnd.name} master ${i.hostEnd.bridge}`]),
    ...(hostEndsUp ? [`link set dev ${i.hostEnd.name} up`] : []),
  ]);
}

// A path as one word of an `ip -batch` line (ip splits at blanks outside quotes). A path
// that cannot be quoted is refused rather than split.
export function batchQuoted(path: string): string {
  if (/["\\\n\r]/.test(path)) throw new CkptError(ExitCode.usage, `ckpt's state directory ${JSON.stringify(path)} holds a quote, backslash or line break, which ip cannot be given`, { hint: "use a --root without them" });
  return `"${path}"`;
}

// What opens a namespace made with its host ends down, once the sockets are back.
export function upCommands(config: Extract<NetworkConfig, { mode: "private" }>): string[] {
  return config.interfaces.map((i) => `link set dev ${i.hostEnd.name} up`);
}

// What this host already has, for the check below.
export interface HostNetworkFacts {
  // Interfaces in ckpt's namespace, with whether each is a bridge, and its MAC.
  links: { name: string; bridge: boolean; mac?: string }[];
  // Addresses of ckpt's namespace, without prefix.
  addresses: string[];
  // Other containers of this host, by name, with their private addresses (no prefix),
  // the host ends of their veths and their MACs.
  containers: { name: string; addresses: string[]; hostEnds: string[]; macs?: string[] }[];
}

// One reason a network cannot be built here: something missing (the host is not ready
// for it) or something another holds (a conflict), with how to fix it.
export interface NetworkProblem {
  kind: "missing" | "in-use";
  message: string;
  fix: string;
}

// Why `config` cannot be built on this host (empty when it can): a missing bridge or
// namespace, an address, MAC or interface name another container or the host already uses.
export function networkProblems(config: NetworkConfig, host: HostNetworkFacts, nsPathExists: (path: string) => boolean): NetworkProblem[] {
  if (config.mode === "host") return [];
  if (config.mode === "ns") {
    return nsPathExists(config.path) ? [] : [{ kind: "missing", message: `the network namespace ${config.path} does not exist on this host`, fix: "ns: namespaces are the operator's: create and configure it (ip netns add NAME)" }];
  }
  const problems: NetworkProblem[] = [];
  const hostAddresses = new Set(host.addresses.map(canonicalAddress));
  for (const i of config.interfaces) {
    const bridge = i.hostEnd.bridge;
    if (bridge !== null && !host.links.some((l) => l.name === bridge && l.bridge)) {
      problems.push({ kind: "missing", message: `there is no bridge ${bridge} on this host for ${i.name}`, fix: `create it (ip link add ${bridge} type bridge; ip link set ${bridge} up) or choose another with --bridge` });
    }
    for (const cidr of i.addresses) {
      const address = canonicalAddress(cidr.split("/")[0]!);
      if (hostAddresses.has(address)) problems.push({ kind: "in-use", message: `the address ${address} of ${i.name} is already on one of this host's interfaces`, fix: "give the container another address" });
      for (const other of host.containers) {
        if (other.addresses.map(canonicalAddress).includes(address)) problems.push({ kind: "in-use", message: `the address ${address} of ${i.name} is already used by container "${other.name}"`, fix: `remove that container (ckpt rm -f ${other.name}) or give this one another address` });
      }
    }
    const macOwner = host.containers.find((c) => (c.macs ?? []).includes(i.mac));
    if (macOwner !== undefined) problems.push({ kind: "in-use", message: `the MAC address ${i.mac} of ${i.name} is already used by container "${macOwner.name}"`, fix: "give this one another --mac-address (or none: ckpt derives one from the container id)" });
    const macLink = host.links.find((l) => l.mac === i.mac);
    if (macLink !== undefined) problems.push({ kind: "in-use", message: `the MAC address ${i.mac} of ${i.name} is already this host's ${macLink.name}'s`, fix: "give this one another --mac-address" });
    const owner = host.containers.find((c) => c.hostEnds.includes(i.hostEnd.name));
    if (owner !== undefined) problems.push({ kind: "in-use", message: `the interface ${i.hostEnd.name} already belongs to container "${owner.name}"`, fix: `remove that container (ckpt rm -f ${owner.name})` });
    else if (host.links.some((l) => l.name === i.hostEnd.name)) problems.push({ kind: "in-use", message: `an interface named ${i.hostEnd.name} already exists on this host`, fix: `remove it if nothing uses it (ip link del ${i.hostEnd.name})` });
  }
  return problems;
}

// Addresses without prefix a config gives the container (for networkProblems).
export function privateAddresses(config: NetworkConfig | undefined): string[] {
  return config?.mode === "private" ? config.interfaces.flatMap((i) => i.addresses.map((a) => canonicalAddress(a.split("/")[0]!))) : [];
}

function checkCidr(cidr: string): ParsedCidr {
  const parsed = parseCidr(cidr);
  if (parsed === null) throw new CkptError(ExitCode.usage, `--ip ${cidr} is not an address with a prefix length`, { hint: "for example --ip 192.0.2.50/24 or --ip 2001:db8::50/64" });
  const why = unusableAddress(parsed);
  if (why !== null) throw new CkptError(ExitCode.usage, `--ip ${cidr} cannot be a container's address: ${why}`, { hint: "give a unicast address of the container's subnet, e.g. 192.0.2.50/24" });
  return parsed;
}

// The gateway must be on one of eth0's subnets (else the kernel has no route to it) and
// not eth0's own address.
function checkGateway(text: string, addresses: ParsedCidr[]): string {
  const gw = parseAddress(text);
  if (gw === null) throw new CkptError(ExitCode.usage, `--gateway ${text} is not an IP address`, { hint: "for example --gateway 192.0.2.1" });
  if (!addresses.some((a) => inSubnet(gw, a))) {
    throw new CkptError(ExitCode.usage, `--gateway ${text} is not on eth0's subnet${addresses.length === 1 ? "" : "s"} (${addresses.map(formatCidr).join(", ")}), so the container could not reach it`, { hint: "give an address of the bridge's subnet, usually the host's own on the bridge" });
  }
  if (addresses.some((a) => a.family === gw.family && a.value === gw.value)) throw new CkptError(ExitCode.usage, `--gateway ${text} is the container's own address`);
  return formatAddress(gw);
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
