// A container's network, at the level of its record: checked before it is created or
// restored, built before its processes start, released when it stops being here.
import { CkptError, ExitCode } from "../errors.ts";
import type { ContainerRecord } from "../store/container-record.ts";
import type { ContainerStore } from "../store/container-store.ts";
import { readHostNetworkFacts } from "./host-network.ts";
import type { NetworkConfig } from "../store/network-config.ts";
import { createNetwork, isNamespaceBound, namespacePathExists, lowerLinks, raiseLinks, releaseNetwork } from "./network-namespace.ts";
import { hostEndName, networkProblems, type NetworkProblem } from "./plan-network.ts";

// Why `network` cannot be built for container `name` on this host; empty when it can.
export async function networkProblemsHere(store: ContainerStore, name: string, network: NetworkConfig | undefined): Promise<NetworkProblem[]> {
  if (network === undefined || network.mode === "host") return [];
  return networkProblems(network, await readHostNetworkFacts(store, name), namespacePathExists);
}

export async function refuseUnhostableNetwork(store: ContainerStore, record: ContainerRecord): Promise<void> {
  const problems = await networkProblemsHere(store, record.name, record.network);
  if (problems.length > 0) {
    // Something missing is the host's to fix (3); something taken is a conflict (9).
    const code = problems.some((p) => p.kind === "in-use") ? ExitCode.conflict : ExitCode.hostNotReady;
    throw new CkptError(code, `the network of "${record.name}" cannot be built on this host`, {
      evidence: problems.map((p) => p.message),
      hint: [...new Set(problems.map((p) => p.fix))].join("; "),
    });
  }
}

// Builds the container's private namespace if it is not there (a restart, a reboot), or
// checks that the operator's ns: namespace exists.
export async function ensureNetwork(store: ContainerStore, record: ContainerRecord): Promise<void> {
  const network = record.network;
  if (network?.mode === "ns" && !namespacePathExists(network.path)) {
    throw new CkptError(ExitCode.hostNotReady, `the network namespace ${network.path} of "${record.name}" does not exist`, { hint: "ns: namespaces are the operator's: create it (ip netns add ...) and configure it, then try again" });
  }
  if (network?.mode !== "private") return;
  const path = store.layout.networkNamespace(record.name);
  if (!(await isNamespaceBound(path))) await createNetwork(network, path);
}

// A restore starts from a fresh namespace, identical to the one the container was dumped
// in: CRIU puts sockets back with their addresses, which must exist. Its interfaces stay
// down until raiseNetwork, after the restore: nothing may answer for the container's
// address before its sockets are back (a reset would end each of its connections).
export async function rebuildNetwork(store: ContainerStore, record: ContainerRecord): Promise<void> {
  if (record.network?.mode === "private") await createNetwork(record.network, store.layout.networkNamespace(record.name), { linksUp: false });
  else await ensureNetwork(store, record);
}

export async function raiseNetwork(store: ContainerStore, record: ContainerRecord): Promise<void> {
  if (record.network?.mode === "private") await raiseLinks(record.network, store.layout.networkNamespace(record.name));
}

// A post-copy migration's source: frozen, it must not answer for the address the target
// takes over; raiseNetwork opens it again if the migration fails and it runs on here.
export async function lowerNetwork(record: ContainerRecord): Promise<void> {
  if (record.network?.mode === "private") await lowerLinks(record.network);
}

export async function releaseContainerNetwork(store: ContainerStore, record: ContainerRecord): Promise<void> {
  await releaseNetwork(record.network, store.layout.networkNamespace(record.name));
}

// The recorded network with host-side names for container id `id` (a restore under a new
// name or a lazy migration's new id must not take the name of the source's interface).
export function networkForId(network: NetworkConfig | undefined, id: string): NetworkConfig | undefined {
  if (network?.mode !== "private") return network;
  return { ...network, interfaces: network.interfaces.map((i) => ({ ...i, hostEnd: { ...i.hostEnd, name: hostEndName(id) } })) };
}
