// What this host's network already holds, for planNetwork's networkProblems: run before a
// container is created or restored, and by a migration's source against the target.
import { execa } from "execa";
import type { ContainerStore } from "../store/container-store.ts";
import type { HostNetworkFacts } from "./plan-network.ts";
import { privateAddresses } from "./plan-network.ts";

export async function readHostNetworkFacts(store: ContainerStore, exceptName?: string): Promise<HostNetworkFacts> {
  const [links, addresses, records] = await Promise.all([
    execa("ip", ["-j", "-d", "link", "show"], { stdin: "ignore" }),
    execa("ip", ["-j", "addr", "show"], { stdin: "ignore" }),
    store.list(),
  ]);
  return {
    links: (JSON.parse(String(links.stdout)) as { ifname: string; address?: string; linkinfo?: { info_kind?: string } }[]).map((l) => ({ name: l.ifname, bridge: l.linkinfo?.info_kind === "bridge", ...(l.address ? { mac: l.address.toLowerCase() } : {}) })),
    addresses: (JSON.parse(String(addresses.stdout)) as { addr_info?: { local: string }[] }[]).flatMap((l) => (l.addr_info ?? []).map((a) => a.local)),
    containers: records
      .filter((r) => r.name !== exceptName)
      .map((r) => ({
        name: r.name,
        addresses: privateAddresses(r.network),
        hostEnds: r.network?.mode === "private" ? r.network.interfaces.map((i) => i.hostEnd.name) : [],
        macs: r.network?.mode === "private" ? r.network.interfaces.map((i) => i.mac) : [],
      })),
  };
}
