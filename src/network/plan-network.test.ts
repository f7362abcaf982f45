import assert from "node:assert/strict";
import { test } from "node:test";
import { CkptError } from "../errors.ts";
import type { OciSpec } from "../oci/spec.ts";
import type { NetworkConfig } from "../store/network-config.ts";
import { hostCommands, hostEndName, importedNetworkProblem, macFromId, namespaceCommands, networkForExternalDump, networkProblems, parseNetworkMode, planNetwork, specWithNetwork, upCommands, type HostNetworkFacts } from "./plan-network.ts";

const ID = "c0ffee1234567890abcdef00112233445566778899aabbccddeeff0011223344";

function spec(namespaces: { type: string; path?: string }[] | undefined): OciSpec {
  return { ociVersion: "1.0.2", process: { args: ["/bin/sh"], cwd: "/" }, root: { path: "rootfs" }, ...(namespaces ? { linux: { namespaces } } : {}) };
}

const usage = (fn: () => unknown, pattern: RegExp) => assert.throws(fn, (e: unknown) => e instanceof CkptError && e.exitCode === 2 && pattern.test(e.message));

test("the default follows the spec: its own network namespace becomes ckpt's private one, a path is the operator's, none is the host's", () => {
  assert.deepEqual(planNetwork(spec([{ type: "pid" }, { type: "network" }]), {}, ID), { mode: "private", interfaces: [], routes: [] });
  assert.deepEqual(planNetwork(spec([{ type: "network", path: "/run/netns/blue" }]), {}, ID), { mode: "ns", path: "/run/netns/blue" });
  assert.deepEqual(planNetwork(spec([{ type: "pid" }]), {}, ID), { mode: "host" });
  assert.deepEqual(planNetwork(spec(undefined), {}, ID), { mode: "host" });
});

test("--network private --ip gives eth0 with a stable MAC and a host end named after the id; --gateway a default route", () => {
  const config = planNetwork(spec([{ type: "network" }]), { mode: "private", ips: ["192.0.2.50/24", "2001:db8::50/64"], gateway: "192.0.2.1", bridge: "br0" }, ID);
  assert.deepEqual(config, {
    mode: "private",
    interfaces: [{ name: "eth0", mac: "02:c0:ff:ee:12:34", addresses: ["192.0.2.50/24", "2001:db8::50/64"], hostEnd: { name: "ckc0ffee123456", bridge: "br0" }, mtu: null }],
    routes: [{ destination: "default", via: "192.0.2.1" }],
  });
  assert.equal(macFromId(ID), "02:c0:ff:ee:12:34");
  assert.ok(hostEndName(ID).length <= 15, "an interface name has at most 15 bytes");
});

test("--network overrides the spec, in podman's spelling", () => {
  assert.deepEqual(planNetwork(spec([{ type: "network" }]), { mode: "host" }, ID), { mode: "host" });
  assert.deepEqual(planNetwork(spec([{ type: "network" }]), { mode: parseNetworkMode("ns:/run/netns/red") }, ID), { mode: "ns", path: "/run/netns/red" });
  assert.deepEqual(planNetwork(spec(undefined), { mode: "none" }, ID), { mode: "private", interfaces: [], routes: [] });
  usage(() => parseNetworkMode("bridge"), /unknown --network mode "bridge"/);
  usage(() => parseNetworkMode("ns:relative/path"), /must be absolute/);
});

test("veth options are refused where they mean nothing, and bad values are named", () => {
  usage(() => planNetwork(spec(undefined), { mode: "host", ips: ["192.0.2.5/24"] }, ID), /--network host takes none of them/);
  usage(() => planNetwork(spec(undefined), { mode: "none", bridge: "br0" }, ID), /--network none takes none of them/);
  usage(() => planNetwork(spec(undefined), { mode: "private", bridge: "br0" }, ID), /needs an address/);
  usage(() => planNetwork(spec(undefined), { mode: "private", ips: ["192.0.2.5"] }, ID), /not an address with a prefix length/);
  usage(() => planNetwork(spec(undefined), { mode: "private", ips: ["192.0.2.5/33"] }, ID), /not an address with a prefix length/);
  usage(() => planNetwork(spec(undefined), { mode: "private", ips: ["192.0.2.5/24"], gateway: "gw" }, ID), /--gateway gw is not an IP address/);
  usage(() => planNetwork(spec(undefined), { mode: "private", ips: ["192.0.2.5/24"], mac: "01:00:5e:00:00:01" }, ID), /not a unicast MAC/);
});

test("ckpt's bundle joins the namespace ckpt made, or the operator's, and keeps the other namespaces", () => {
  const source = spec([{ type: "pid" }, { type: "network" }, { type: "mount" }]);
  const managed: NetworkConfig = { mode: "private", interfaces: [], routes: [] };
  assert.deepEqual(specWithNetwork(source, managed, "/var/lib/ckpt/containers/web/netns").linux?.namespaces, [{ type: "pid" }, { type: "mount" }, { type: "network", path: "/var/lib/ckpt/containers/web/netns" }]);
  assert.deepEqual(specWithNetwork(source, { mode: "ns", path: "/run/netns/blue" }, "/unused").linux?.namespaces, [{ type: "pid" }, { type: "mount" }, { type: "network", path: "/run/netns/blue" }]);
  assert.deepEqual(specWithNetwork(source, { mode: "host" }, "/unused").linux?.namespaces, [{ type: "pid" }, { type: "mount" }]);
  // An imported spec naming the source host's path is pointed at this host's.
  const imported = spec([{ type: "network", path: "/var/lib/ckpt-a/containers/web/netns" }]);
  assert.deepEqual(specWithNetwork(imported, managed, "/var/lib/ckpt-b/containers/web/netns").linux?.namespaces, [{ type: "network", path: "/var/lib/ckpt-b/containers/web/netns" }]);
  assert.equal(source.linux?.namespaces?.length, 3, "the input is not changed");
});

test("the ip commands: loopback up, eth0 with its MAC, addresses (IPv6 without DAD) and routes inside; before a restore the host end stays down until upCommands", () => {
  const config = planNetwork(spec(undefined), { mode: "private", ips: ["192.0.2.50/24", "2001:db8::50/64"], gateway: "192.0.2.1", bridge: "br0", mtu: 1400 }, ID);
  assert.ok(config.mode === "private");
  assert.deepEqual(namespaceCommands(config), [
    "link set lo up",
    "link set dev eth0 address 02:c0:ff:ee:12:34 mtu 1400",
    "addr add 192.0.2.50/24 dev eth0",
    "addr add 2001:db8::50/64 dev eth0 nodad",
    "link set dev eth0 up",
    "route add default via 192.0.2.1",
  ]);
  assert.deepEqual(hostCommands(config, "/ns"), ['link add ckc0ffee123456 mtu 1400 type veth peer name eth0 netns "/ns"', "link set dev ckc0ffee123456 master br0", "link set dev ckc0ffee123456 up"]);
  assert.deepEqual(hostCommands(config, "/ns", false), ['link add ckc0ffee123456 mtu 1400 type veth peer name eth0 netns "/ns"', "link set dev ckc0ffee123456 master br0"]);
  assert.deepEqual(upCommands(config), ["link set dev ckc0ffee123456 up"]);
  // A state directory with a blank is one word for ip; one with a quote cannot be given.
  assert.match(hostCommands(config, "/var/lib/ckpt two/containers/web/netns")[0]!, / netns "\/var\/lib\/ckpt two\/containers\/web\/netns"$/);
  usage(() => hostCommands(config, '/tmp/a"b/netns'), /quote, backslash or line break/);
  assert.deepEqual(namespaceCommands({ mode: "private", interfaces: [], routes: [] }), ["link set lo up"]);
});

test("what a host cannot build is named, with its fix: a missing bridge or ns: path (missing), an address, MAC or interface name in use (in-use)", () => {
  const config = planNetwork(spec(undefined), { mode: "private", ips: ["192.0.2.50/24"], bridge: "br0" }, ID);
  const fine: HostNetworkFacts = { links: [{ name: "br0", bridge: true, mac: "aa:00:00:00:00:01" }, { name: "eth0", bridge: false }], addresses: ["192.0.2.1"], containers: [{ name: "db", addresses: ["192.0.2.60"], hostEnds: ["ckaaaa"], macs: ["02:00:00:00:00:60"] }] };
  const kinds = (h: HostNetworkFacts, c: NetworkConfig = config) => networkProblems(c, h, () => true).map((p) => [p.kind, p.message]);
  assert.deepEqual(kinds(fine), []);
  assert.deepEqual(kinds({ ...fine, links: [{ name: "br0", bridge: false }] }), [["missing", "there is no bridge br0 on this host for eth0"]]);
  assert.match(networkProblems(config, { ...fine, links: [] }, () => true)[0]!.fix, /ip link add br0 type bridge/);
  assert.deepEqual(kinds({ ...fine, addresses: ["192.0.2.50"] }), [["in-use", "the address 192.0.2.50 of eth0 is already on one of this host's interfaces"]]);
  assert.deepEqual(kinds({ ...fine, containers: [{ name: "web2", addresses: ["192.0.2.50"], hostEnds: [] }] }), [["in-use", 'the address 192.0.2.50 of eth0 is already used by container "web2"']]);
  assert.deepEqual(kinds({ ...fine, links: [...fine.links, { name: "ckc0ffee123456", bridge: false }] }), [["in-use", "an interface named ckc0ffee123456 already exists on this host"]]);
  assert.deepEqual(kinds({ ...fine, containers: [{ name: "twin", addresses: [], hostEnds: [], macs: ["02:c0:ff:ee:12:34"] }] }), [["in-use", 'the MAC address 02:c0:ff:ee:12:34 of eth0 is already used by container "twin"']]);
  assert.deepEqual(kinds({ ...fine, links: [...fine.links, { name: "br9", bridge: true, mac: "02:c0:ff:ee:12:34" }] }), [["in-use", "the MAC address 02:c0:ff:ee:12:34 of eth0 is already this host's br9's"]]);
  assert.deepEqual(networkProblems({ mode: "ns", path: "/run/netns/gone" }, fine, () => false).map((p) => p.kind), ["missing"]);
  assert.deepEqual(networkProblems({ mode: "host" }, { links: [], addresses: [], containers: [] }, () => false), []);
});

test("IPv6 addresses are compared in one form: 2001:DB8:0:0::5 is the 2001:db8::5 another container or the host holds", () => {
  const v6 = planNetwork(spec(undefined), { mode: "private", ips: ["2001:DB8:0:0::5/64"] }, ID);
  assert.ok(v6.mode === "private");
  assert.deepEqual(v6.interfaces[0]!.addresses, ["2001:db8::5/64"], "stored in its canonical form");
  const host = (addresses: string[], container: string[]): HostNetworkFacts => ({ links: [], addresses, containers: [{ name: "other", addresses: container, hostEnds: [] }] });
  assert.equal(networkProblems(v6, host([], ["2001:db8::5"]), () => true).length, 1);
  assert.equal(networkProblems(v6, host(["2001:0db8:0000::5"], []), () => true).length, 1);
});

test("addresses that cannot be a container's own, an off-link or foreign-family gateway and a bad MTU are usage errors before anything is made", () => {
  const ip = (v: string) => () => planNetwork(spec(undefined), { mode: "private", ips: [v] }, ID);
  usage(ip("0.0.0.0/0"), /prefix length of 0/);
  usage(ip("127.0.0.1/8"), /loopback/);
  usage(ip("224.0.0.1/4"), /multicast/);
  usage(ip("255.255.255.255/32"), /limited broadcast/);
  usage(ip("192.0.2.255/24"), /broadcast address of 192\.0\.2\.0\/24/);
  usage(ip("192.0.2.0/24"), /network address of 192\.0\.2\.0\/24/);
  usage(ip("fe80::1/64"), /link-local/);
  usage(ip("::/0"), /prefix length of 0/);
  usage(ip("ff02::1/64"), /multicast/);
  const normalised = planNetwork(spec(undefined), { mode: "private", ips: ["192.0.2.90/024"] }, ID);
  assert.ok(normalised.mode === "private" && normalised.interfaces[0]!.addresses[0] === "192.0.2.90/24");
  const gw = (g: string) => () => planNetwork(spec(undefined), { mode: "private", ips: ["192.0.2.50/24"], gateway: g }, ID);
  usage(gw("10.9.9.9"), /not on eth0's subnet/);
  usage(gw("2001:db8::1"), /not on eth0's subnet/);
  usage(gw("192.0.2.50"), /the container's own address/);
  const mtu = (m: number) => () => planNetwork(spec(undefined), { mode: "private", ips: ["192.0.2.50/24"], mtu: m }, ID);
  for (const bad of [0, 67, 65536, 1.5, -5, Number.NaN]) usage(mtu(bad), /is not an MTU/);
  usage(() => planNetwork(spec(undefined), { mode: "private", ips: ["192.0.2.5/24"], mac: "00:00:00:00:00:00" }, ID), /not a unicast MAC/);
});

test("a dump left external without ckpt's record: the local bundle's existing path is joined, an imported spec's never", () => {
  const withPath = spec([{ type: "network", path: "/run/netns/blue" }]);
  assert.deepEqual(networkForExternalDump(withPath, () => true, true), { mode: "ns", path: "/run/netns/blue" });
  assert.deepEqual(networkForExternalDump(withPath, () => false, true), { mode: "private", interfaces: [], routes: [] });
  assert.deepEqual(networkForExternalDump(spec([{ type: "network", path: "/proc/1/ns/net" }]), () => true, false), { mode: "private", interfaces: [], routes: [] });
  assert.deepEqual(networkForExternalDump(spec([{ type: "network" }]), () => true, true), { mode: "private", interfaces: [], routes: [] });
});

test("attack: an imported checkpoint naming the host's namespace (/proc/1/ns/net), a bind mount elsewhere, or a link out of /run/netns is refused; a named namespace is taken", () => {
  const real = (map: Record<string, string | null>) => (p: string) => (p in map ? map[p]! : p);
  assert.equal(importedNetworkProblem({ mode: "ns", path: "/run/netns/blue" }, real({})), null);
  assert.match(importedNetworkProblem({ mode: "ns", path: "/proc/1/ns/net" }, real({})) ?? "", /may join only a named namespace/);
  assert.match(importedNetworkProblem({ mode: "ns", path: "/var/lib/other/netns" }, real({})) ?? "", /may join only a named namespace/);
  assert.match(importedNetworkProblem({ mode: "ns", path: "/run/netns/evil" }, real({ "/run/netns/evil": "/proc/1/ns/net" })) ?? "", /may join only a named namespace/);
  assert.match(importedNetworkProblem({ mode: "ns", path: "/run/netns/sub/dir" }, real({})) ?? "", /may join only a named namespace/);
  assert.match(importedNetworkProblem({ mode: "ns", path: "/run/netns/gone" }, real({ "/run/netns/gone": null })) ?? "", /does not exist here/);
  // /proc/1/ns/net does not resolve to a path at all: still named for what it is.
  assert.match(importedNetworkProblem({ mode: "ns", path: "/proc/1/ns/net" }, real({ "/proc/1/ns/net": null })) ?? "", /may join only a named namespace/);
  assert.equal(importedNetworkProblem({ mode: "private", interfaces: [], routes: [] }, real({})), null);
  assert.equal(importedNetworkProblem({ mode: "host" }, real({})), null);
});
