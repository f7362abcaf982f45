import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { OciSpec } from "../oci/spec.ts";
import { parseHardLimits } from "../host/process-limits.ts";
import { fixtureText } from "../../test/support/fixtures.ts";
import { allowableKinds, refuseUnallowedSpec, unallowed, vetImportedSpec, type PolicyContext } from "./spec-policy.ts";
import { CkptError } from "../errors.ts";

// Real defaults: what `runc spec` (1.1.5) writes, and the config.json podman 4.3.1 made
// for `podman create --network none --ulimit nofile=1024:1024 --ulimit nproc=1024:1024`.
const runcSpec = (): OciSpec => JSON.parse(fixtureText("oci/runc-1.1.5-spec.json")) as OciSpec;
const podmanSpec = (): OciSpec => JSON.parse(fixtureText("oci/podman-4.3.1-config.json")) as OciSpec;
// This host's limits as a real /proc/self/limits showed them (open files hard 20000).
const host: Partial<PolicyContext> = { hostRlimits: parseHardLimits(fixtureText("host/limits.txt")) };
// A spec edited in place: `edit` gets a loose copy.
type Loose = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const edited = (spec: OciSpec, edit: (s: Loose) => void): OciSpec => {
  const copy = structuredClone(spec) as Loose;
  edit(copy);
  return copy as OciSpec;
};
const kinds = (spec: OciSpec, context: Partial<PolicyContext> = host) => vetImportedSpec(spec, context).map((f) => `${f.kind}: ${f.detail}`);

test("the runtimes' and podman's own defaults pass: nothing to refuse", () => {
  assert.deepEqual(kinds(runcSpec()), []);
  assert.deepEqual(kinds(podmanSpec(), { ...host, engineConfinesByDefault: true, ownRoots: ["/var/lib/containers/storage", "/run/containers/storage"] }), [], "podman's defaults, its userdata mounts as ckpt's stand-ins");
});

test("every OCI hook of an imported spec is a finding, named by phase, index, path and arguments", () => {
  const spec = edited(runcSpec(), (s) => (s["hooks"] = { prestart: [{ path: "/bin/sh", args: ["sh", "-c", "id > /x"] }], poststop: [{ path: "/usr/bin/cleanup" }], weird: [{ path: "/x" }] }));
  assert.deepEqual(kinds(spec), ["hooks: hooks.prestart[0]: /bin/sh -c id > /x", "hooks: hooks.poststop[0]: /usr/bin/cleanup", "hooks: hooks.weird (unknown phase)[0]: /x"]);
  assert.deepEqual(kinds(edited(runcSpec(), (s) => (s["hooks"] = {}))), []);
});

test("--allow KIND lets exactly that kind through", () => {
  const findings = vetImportedSpec(edited(runcSpec(), (s) => (s["hooks"] = { prestart: [{ path: "/bin/true" }] })), host);
  assert.equal(unallowed(findings, new Set()).length, 1);
  assert.equal(unallowed(findings, new Set(["mounts"])).length, 1);
  assert.deepEqual(unallowed(findings, new Set(["hooks"])), []);
});

test("a bind mount of a host path is a finding; one of ckpt's stand-ins is not, nor a tmpfs; one inside the unpacked root filesystem is (a link there leads anywhere)", () => {
  const spec = edited(runcSpec(), (s) =>
    s["mounts"].push(
      { destination: "/dev/shm", type: "tmpfs", source: "shm" },
      { destination: "/host", type: "bind", source: "/", options: ["rbind"] },
      { destination: "/keys", source: "/root/.ssh", options: ["bind", "ro"] },
      { destination: "/etc/hosts", type: "bind", source: "/var/lib/ckpt/containers/web/mounts/etc_hosts" },
      { destination: "/data", type: "bind", source: "/var/lib/ckpt/containers/web/mounts/../../../../../etc" },
      { destination: "/linked", type: "bind", source: "/var/lib/ckpt/containers/web/rootfs/link-to-etc" },
    ),
  );
  const context = { ...host, ownRoots: ["/var/lib/ckpt/containers/web/mounts"] };
  assert.deepEqual(kinds(spec, context), [
    "mounts: /host: a bind mount of this host's /",
    "mounts: /keys: a bind mount of this host's /root/.ssh",
    "mounts: /data: a bind mount of this host's /var/lib/ckpt/containers/web/mounts/../../../../../etc",
    "mounts: /linked: a bind mount of this host's /var/lib/ckpt/containers/web/rootfs/link-to-etc",
  ]);
  assert.deepEqual(unallowed(vetImportedSpec(spec, context), new Set(["mounts"])), []);
});

describe("privileges and walls", () => {
  test("capabilities beyond the engines' default set are findings, once each whatever the sets; the default ones are not", () => {
    const spec = edited(runcSpec(), (s) => {
      const caps = s["process"]["capabilities"];
      caps.bounding.push("CAP_SYS_ADMIN", "CAP_CHOWN");
      caps.effective.push("CAP_SYS_ADMIN");
      caps.ambient = ["CAP_NET_ADMIN", "CAP_SYS_MODULE"];
    });
    assert.deepEqual(kinds(spec), ["capabilities: process.capabilities: CAP_NET_ADMIN, beyond the default set", "capabilities: process.capabilities: CAP_SYS_ADMIN, beyond the default set", "capabilities: process.capabilities: CAP_SYS_MODULE, beyond the default set"]);
  });

  test("namespaces: one joined by path is a finding, and so is a missing pid, network, ipc or mount namespace; uts or cgroup missing is not", () => {
    const spec = edited(runcSpec(), (s) => {
      s["linux"]["namespaces"] = [{ type: "pid", path: "/proc/1/ns/pid" }, { type: "mount" }, { type: "uts" }];
    });
    assert.deepEqual(kinds(spec), [
      "namespaces: linux.namespaces: pid joins /proc/1/ns/pid",
      "namespaces: linux.namespaces: no network namespace, so the container would share this host's",
      "namespaces: linux.namespaces: no ipc namespace, so the container would share this host's",
    ]);
  });

  test("a network namespace ckpt builds itself (its record, or --network) is not vetted: its path is replaced", () => {
    const spec = edited(runcSpec(), (s) => {
      s["linux"]["namespaces"] = s["linux"]["namespaces"].map((n: Loose) => (n["type"] === "network" ? { type: "network", path: "/var/lib/ckpt/containers/web/netns" } : n));
    });
    assert.deepEqual(kinds(spec), ["namespaces: linux.namespaces: network joins /var/lib/ckpt/containers/web/netns"]);
    assert.deepEqual(kinds(spec, { ...host, networkManaged: true }), []);
    assert.deepEqual(kinds(edited(runcSpec(), (s) => (s["linux"]["namespaces"] = s["linux"]["namespaces"].filter((n: Loose) => n["type"] !== "network"))), { ...host, networkManaged: true }), []);
  });

  test("devices: nodes and cgroup rules that allow a device are findings; runc's deny-all rule is not", () => {
    const spec = edited(runcSpec(), (s) => {
      s["linux"]["devices"] = [{ path: "/dev/sda", type: "b", major: 8, minor: 0 }];
      s["linux"]["resources"]["devices"].push({ allow: true, type: "c", major: 10, minor: 200, access: "rwm" });
    });
    assert.deepEqual(kinds(spec), ["devices: linux.devices: /dev/sda (b 8:0)", "devices: linux.resources.devices: allows c 10:200 rwm"]);
  });

  test("sysctls: the namespaced safe set passes in a network namespace of the container's own; others, or net.* without one, are findings", () => {
    const spec = edited(podmanSpec(), (s) => {
      s["linux"]["sysctl"]["kernel.core_pattern"] = "|/tmp/x";
      s["linux"]["sysctl"]["net.ipv4.ip_forward"] = "1";
    });
    assert.deepEqual(kinds(spec, { ...host, engineConfinesByDefault: true, ownRoots: ["/var/lib/containers", "/run/containers"] }), ["sysctls: linux.sysctl: kernel.core_pattern=|/tmp/x", "sysctls: linux.sysctl: net.ipv4.ip_forward=1"]);
    const hostNetwork = edited(podmanSpec(), (s) => (s["linux"]["namespaces"] = s["linux"]["namespaces"].map((n: Loose) => (n["type"] === "network" ? { type: "network", path: "/proc/1/ns/net" } : n))));
    assert.ok(kinds(hostNetwork, { ...host, engineConfinesByDefault: true, ownRoots: ["/var/lib/containers", "/run/containers"] }).includes("sysctls: linux.sysctl: net.ipv4.ping_group_range=0 0 without a network namespace of its own"));
  });

  test("confinement: an explicitly unconfined seccomp, AppArmor or SELinux profile is a finding; no seccomp is one only where the engine sets one by default", () => {
    const spec = edited(runcSpec(), (s) => {
      s["linux"]["seccomp"] = { defaultAction: "SCMP_ACT_ALLOW" };
      s["process"]["apparmorProfile"] = "unconfined";
      s["process"]["selinuxLabel"] = "system_u:system_r:spc_t:s0";
    });
    assert.deepEqual(kinds(spec), ["confinement: linux.seccomp: SCMP_ACT_ALLOW by default and no rule that refuses anything (unconfined)", "confinement: process.apparmorProfile: unconfined", "confinement: process.selinuxLabel: system_u:system_r:spc_t:s0 (unconfined)"]);
    const noSeccomp = edited(podmanSpec(), (s) => delete s["linux"]["seccomp"]);
    const podmanContext = { ...host, ownRoots: ["/var/lib/containers", "/run/containers"] };
    assert.deepEqual(kinds(noSeccomp, { ...podmanContext, engineConfinesByDefault: true }), ["confinement: linux.seccomp: none, where the engine that made it sets a profile unless told not to"]);
    assert.deepEqual(kinds(noSeccomp, podmanContext), [], "runc spec has none: a ckpt container had none to lose");
  });

  test("masked and read-only paths: none, or one of the walls every engine has missing, is a finding", () => {
    assert.deepEqual(kinds(edited(runcSpec(), (s) => (delete s["linux"]["maskedPaths"], (s["linux"]["readonlyPaths"] = [])))), ["masked-paths: linux.maskedPaths: none", "masked-paths: linux.readonlyPaths: none"]);
    assert.deepEqual(kinds(edited(runcSpec(), (s) => (s["linux"]["maskedPaths"] = s["linux"]["maskedPaths"].filter((p: string) => p !== "/proc/kcore")))), ["masked-paths: linux.maskedPaths: lacks /proc/kcore"]);
  });

  test("rlimits above this host's hard limit are findings (soft or hard); at or under it, or a limit the host has unlimited, are not", () => {
    const spec = edited(runcSpec(), (s) => {
      s["process"]["rlimits"] = [
        { type: "RLIMIT_NOFILE", soft: 1024, hard: 1048576 },
        { type: "RLIMIT_NPROC", soft: 96365, hard: 96365 },
        { type: "RLIMIT_CORE", soft: 1e30, hard: 1e30 },
        { type: "RLIMIT_MEMLOCK", soft: 8388609, hard: 8388608 },
      ];
    });
    assert.deepEqual(kinds(spec), ["rlimits: process.rlimits: RLIMIT_NOFILE 1024/1048576, above this host's 20000", "rlimits: process.rlimits: RLIMIT_MEMLOCK 8388609/8388608, above this host's 8388608"]);
  });

  test("a root filesystem the archive does not carry is a host directory the sender names: a finding", () => {
    assert.deepEqual(kinds(runcSpec(), { ...host, rootfsUnpacked: false }), ["rootfs: root.path rootfs: a directory of this host the archive names, not a root filesystem it carries"]);
  });
});

test("the refusal names every finding, what each kind risks, and the flags that would allow them, or --spec", () => {
  const spec = edited(runcSpec(), (s) => {
    s["hooks"] = { prestart: [{ path: "/bin/true" }] };
    s["process"]["capabilities"]["bounding"].push("CAP_SYS_ADMIN");
  });
  assert.throws(
    () => refuseUnallowedSpec(vetImportedSpec(spec, host), ["hooks"], "refusing", "allow with"),
    (e: unknown) => e instanceof CkptError && e.exitCode === 5 && e.evidence[0] === "capabilities: process.capabilities: CAP_SYS_ADMIN, beyond the default set" && e.evidence.length === 2 && /--allow capabilities, or give the spec yourself with --spec FILE$/.test(e.hint ?? ""),
  );
  assert.doesNotThrow(() => refuseUnallowedSpec(vetImportedSpec(spec, host), ["hooks", "capabilities"], "refusing", "allow with"));
});

test("mounts of anything but the kernel's virtual file systems are findings: an overlay naming host directories, a block device, a typeless mount", () => {
  const spec = edited(runcSpec(), (s) =>
    s["mounts"].push(
      { destination: "/merged", type: "overlay", source: "overlay", options: ["lowerdir=/", "upperdir=/tmp/u", "workdir=/tmp/w"] },
      { destination: "/disk", type: "ext4", source: "/dev/sda1" },
      { destination: "/odd", source: "/etc" },
      { destination: "/run", type: "tmpfs", source: "tmpfs", options: ["size=64m"] },
    ),
  );
  assert.deepEqual(kinds(spec), [
    "mounts: /merged: a mount of type overlay from overlay (lowerdir=/,upperdir=/tmp/u,workdir=/tmp/w)",
    "mounts: /disk: a mount of type ext4 from /dev/sda1",
    "mounts: /odd: a mount of type (none) from /etc",
  ]);
});

test("annotations crun acts on (run.oci.*) are findings; podman's and CRI-O's records are not", () => {
  const spec = edited(podmanSpec(), (s) => (s["annotations"] = { ...s["annotations"], "run.oci.seccomp.receiver": "/run/agent.sock", "io.podman.annotations.autoremove": "FALSE" }));
  assert.deepEqual(kinds(spec, { ...host, engineConfinesByDefault: true, ownRoots: ["/var/lib/containers", "/run/containers"] }), ["annotations: annotations: run.oci.seccomp.receiver=/run/agent.sock"]);
});

describe("red team findings", () => {
  test("attack: keys runc reads under another spelling (Go folds case, U+212A to k, U+017F to s) are refused whatever is allowed: Hooks, HOOKS, hoo\u212As, Root, process.Capabilities, linux.MaskedPaths, linux.Namespaces, Annotations", () => {
    const cases: [string, (s: Loose) => void][] = [
      ["Hooks", (s) => (s["Hooks"] = { prestart: [{ path: "/bin/sh" }] })],
      ["HOOKS", (s) => (s["HOOKS"] = { prestart: [{ path: "/bin/sh" }] })],
      ["hoo\u212as", (s) => (s["hoo\u212as"] = { prestart: [{ path: "/bin/sh" }] })],
      ["Root", (s) => (s["Root"] = { path: "/" })],
      ["process.Capabilities", (s) => (s["process"]["Capabilities"] = { bounding: ["CAP_SYS_ADMIN"] })],
      ["linux.MaskedPaths", (s) => (s["linux"]["MaskedPaths"] = [])],
      ["linux.Namespaces", (s) => (s["linux"]["Namespaces"] = [{ type: "mount" }])],
      ["mounts[0].Source", (s) => (s["mounts"][0]["Source"] = "/")],
      ["Annotations", (s) => (s["Annotations"] = { "org.criu.config": "/tmp/evil.conf" })],
      ["linux.cgroup\u017fPath", (s) => (s["linux"]["cgroup\u017fPath"] = "/victim")],
    ];
    for (const [path, edit] of cases) {
      const findings = vetImportedSpec(edited(runcSpec(), edit), host);
      assert.deepEqual(findings.filter((f) => f.kind === "disguised").map((f) => f.detail.split(":")[0]), [path], path);
      assert.throws(() => refuseUnallowedSpec(findings, [...allowableKinds], "refusing", "allow with"), (e: unknown) => e instanceof CkptError && /nothing allows that/.test(e.hint ?? ""), `${path}: no --allow lets it through`);
    }
    assert.deepEqual(kinds(edited(runcSpec(), (s) => (s["annotations"] = { Hooks: "a value", "org.opencontainers.image.Source": "x" }))), [], "keys of free-form maps are data");
  });

  test("attack: a second proc, sysfs or cgroup mount elsewhere than where engines mount it is a finding (the masked paths cover /proc and /sys only); the usual ones pass", () => {
    for (const type of ["proc", "sysfs", "cgroup", "devpts"]) {
      assert.deepEqual(kinds(edited(runcSpec(), (s) => s["mounts"].push({ destination: "/p2", type, source: type }))).map((k) => k.split(":")[0]), ["mounts"], type);
    }
    assert.deepEqual(kinds(edited(runcSpec(), (s) => s["mounts"].push({ destination: "/proc/", type: "proc", source: "proc" }))), [], "/proc/ is /proc");
  });

  test("attack: seccomp that only logs, or allows by default with rules that refuse nothing, is unconfined; a deny-list is not", () => {
    const seccomp = (profile: Loose) => kinds(edited(runcSpec(), (s) => (s["linux"]["seccomp"] = profile)));
    assert.equal(seccomp({ defaultAction: "SCMP_ACT_LOG" }).length, 1);
    assert.equal(seccomp({ defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["getpid"], action: "SCMP_ACT_ALLOW" }] }).length, 1);
    assert.deepEqual(seccomp({ defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["kexec_load"], action: "SCMP_ACT_ERRNO" }] }), []);
    assert.equal(kinds(edited(runcSpec(), (s) => (s["process"]["selinuxLabel"] = "system_u:system_r:unconfined_service_t:s0"))).length, 1);
  });

  test("attack: a recorded network that joins a bridge of this host (config.dump) is a finding; without a bridge, or the operator's own --network, it is not", () => {
    const veth = { name: "eth0", mac: "02:42:c0:00:02:32", addresses: ["192.0.2.50/24"], hostEnd: { name: "ck0123456789ab", bridge: "br0" }, mtu: null };
    assert.deepEqual(kinds(runcSpec(), { ...host, recordedNetwork: { mode: "private", interfaces: [veth], routes: [] } }), ["network: eth0 joins this host's bridge br0 with MAC 02:42:c0:00:02:32 and 192.0.2.50/24"]);
    assert.deepEqual(kinds(runcSpec(), { ...host, recordedNetwork: { mode: "private", interfaces: [{ ...veth, hostEnd: { ...veth.hostEnd, bridge: null } }], routes: [] } }), []);
    assert.deepEqual(kinds(runcSpec(), { ...host, recordedNetwork: undefined }), []);
  });
});
