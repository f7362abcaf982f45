import assert from "node:assert/strict";
import { test } from "node:test";
import type { OciSpec } from "../oci/spec.ts";
import { planImportedSpec } from "./imported-rootfs.ts";

// The shape of podman 4.3.1's spec.dump for a container run with --network none.
const userdata = "/var/lib/containers/storage/overlay-containers/0123abcd/userdata";
const runUserdata = "/run/containers/storage/overlay-containers/0123abcd/userdata";
const podmanSpec = {
  ociVersion: "1.0.2-dev",
  process: { args: ["/bin/sh"], cwd: "/" },
  root: { path: "/var/lib/containers/storage/overlay/4567/merged" },
  mounts: [
    { destination: "/proc", type: "proc", source: "proc" },
    { destination: "/etc/hosts", type: "bind", source: `${runUserdata}/hosts`, options: ["bind", "rprivate"] },
    { destination: "/dev/shm", type: "bind", source: `${userdata}/shm`, options: ["bind", "rprivate", "nosuid"] },
    { destination: "/run/.containerenv", type: "bind", source: `${runUserdata}/.containerenv`, options: ["bind"] },
  ],
  linux: { cgroupsPath: "/libpod_parent/libpod-0123abcd", namespaces: [{ type: "pid" }, { type: "mount" }] },
} as unknown as OciSpec;

test("an imported podman spec: new root, no cgroup path, placeholders for podman's userdata binds", () => {
  const { spec, placeholders } = planImportedSpec(podmanSpec, "/ckpt/containers/web/rootfs", "/ckpt/containers/web/mounts", () => false);
  assert.equal(spec.root.path, "/ckpt/containers/web/rootfs");
  assert.equal((spec.linux as { cgroupsPath?: string }).cgroupsPath, undefined);
  assert.deepEqual(placeholders, [
    { destination: "/etc/hosts", source: "/ckpt/containers/web/mounts/etc_hosts", kind: "file" },
    { destination: "/dev/shm", source: "/ckpt/containers/web/mounts/dev_shm", kind: "dir" },
    { destination: "/run/.containerenv", source: "/ckpt/containers/web/mounts/run_.containerenv", kind: "file" },
  ]);
  const mounts = (spec as unknown as { mounts: { destination: string; source: string }[] }).mounts;
  assert.equal(mounts.find((m) => m.destination === "/etc/hosts")?.source, "/ckpt/containers/web/mounts/etc_hosts");
  assert.equal(mounts.find((m) => m.destination === "/proc")?.source, "proc", "non-bind mounts stay");
  assert.equal(podmanSpec.root.path, "/var/lib/containers/storage/overlay/4567/merged", "the input is not changed");
});

test("bind sources that exist on this host are kept", () => {
  const { placeholders } = planImportedSpec(podmanSpec, "/r", "/m", (p) => p.endsWith("/hosts"));
  assert.deepEqual(placeholders.map((p) => p.destination), ["/dev/shm", "/run/.containerenv"]);
});

test("a missing bind source outside an engine's userdata is an error naming it, not a silent placeholder", () => {
  const spec = { ...podmanSpec, mounts: [{ destination: "/data", type: "bind", source: "/srv/data", options: ["rbind"] }] } as unknown as OciSpec;
  assert.throws(() => planImportedSpec(spec, "/r", "/m", () => false), (error: Error & { evidence?: string[] }) => {
    assert.match(error.message, /bind mounts name sources that do not exist/);
    assert.deepEqual(error.evidence, ["/data: /srv/data"]);
    return true;
  });
});
