import assert from "node:assert/strict";
import { test } from "node:test";
import type { OciSpec } from "../oci/spec.ts";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeRawTar, type RawEntry } from "../../test/harness/archives.ts";
import { CkptError } from "../errors.ts";
import { extractJudged, planImportedSpec, removeDeletedFiles } from "./imported-rootfs.ts";

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

test("an engine's userdata files get ckpt's stand-ins even when they exist here (they are another container's); other existing bind sources are kept", () => {
  const all = planImportedSpec(podmanSpec, "/r", "/m", () => false).placeholders.map((p) => p.destination);
  const existing = planImportedSpec(podmanSpec, "/r", "/m", (p) => p.endsWith("/hosts")).placeholders.map((p) => p.destination);
  assert.deepEqual(existing, all);
  assert.ok(all.includes("/etc/hosts"));
  const withData = { ...podmanSpec, mounts: [...(podmanSpec.mounts ?? []), { destination: "/data", type: "bind", source: "/srv/data", options: ["rbind"] }] } as typeof podmanSpec;
  const kept = planImportedSpec(withData, "/r", "/m", (p) => p === "/srv/data").spec.mounts?.find((m) => m.destination === "/data");
  assert.equal(kept?.source, "/srv/data");
});

test("a missing bind source outside an engine's userdata is an error naming it, not a silent placeholder", () => {
  const spec = { ...podmanSpec, mounts: [{ destination: "/data", type: "bind", source: "/srv/data", options: ["rbind"] }] } as unknown as OciSpec;
  assert.throws(() => planImportedSpec(spec, "/r", "/m", () => false), (error: Error & { evidence?: string[] }) => {
    assert.match(error.message, /bind mounts name sources that do not exist/);
    assert.deepEqual(error.evidence, ["/data: /srv/data"]);
    return true;
  });
});

// podman's devshm-checkpoint.tar and rootfs-diff.tar come inside the archive: one hostile
// entry refuses the whole inner tar before any of it is written.
for (const [attack, entry] of [
  ["absolute path", { path: "/tmp/ckpt-unit-owned", type: "File" as const, content: Buffer.from("x") }],
  ["parent traversal", { path: "../../ckpt-unit-owned", type: "File" as const, content: Buffer.from("x") }],
  ["link out of the directory", { path: "escape", type: "SymbolicLink" as const, linkpath: "../../../../etc" }],
  ["device-like special file", { path: "fifo", type: "FIFO" as const }],
] as const) {
  test(`an inner tar with a ${attack} is refused whole, nothing extracted`, async (t) => {
    const dir = await mkdtemp(join(tmpdir(), "ckpt-unit-shm-"));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const shm = join(dir, "devshm-checkpoint.tar");
    await writeRawTar(shm, [{ path: "good", type: "File", content: Buffer.from("fine") }, entry]);
    const target = join(dir, "shm");
    await mkdir(target);
    await assert.rejects(extractJudged(shm, target, { linksAllowed: true }, "the archive's /dev/shm"), (e: unknown) => e instanceof CkptError && e.exitCode === 5 && /refusing the archive's \/dev\/shm/.test(e.message));
    assert.deepEqual(await readdir(target), [], "not even the good entry before it");
    assert.equal(existsSync("/tmp/ckpt-unit-owned"), false);
  });
}

test("a clean inner tar is extracted", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "ckpt-unit-shm-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const shm = join(dir, "devshm-checkpoint.tar");
  await writeRawTar(shm, [{ path: "sub", type: "Directory" }, { path: "sub/seg", type: "File", content: Buffer.from("shared") }]);
  const target = join(dir, "shm");
  await mkdir(target);
  await extractJudged(shm, target, { linksAllowed: true }, "the archive's /dev/shm");
  assert.equal(await readFile(join(target, "sub/seg"), "utf8"), "shared");
});

// A root filesystem's links are the container's: each passes on its own, so a chain of
// them must be stopped by the extractor never writing through a link.
for (const links of [2, 3, 5, 8]) {
  test(`attack: a rootfs-diff.tar with a link chain of ${links} links, each pointing inside on its own, writes nothing outside and is refused (exit 5)`, async (t) => {
    const dir = await mkdtemp(join(tmpdir(), "ckpt-unit-chain-"));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const tarFile = join(dir, "rootfs-diff.tar");
    const entries: RawEntry[] = [{ path: "a", type: "Directory" }];
    let at = "a";
    for (let i = 1; i <= links; i++) {
      at = `${at}/l${i}`;
      entries.push({ path: at, type: "SymbolicLink", linkpath: ".." });
    }
    entries.push({ path: `${at}/ckpt-unit-chain-marker`, type: "File", content: Buffer.from("owned") });
    await writeRawTar(tarFile, entries);
    const rootfs = join(dir, "deep", "deeper", "rootfs");
    await mkdir(rootfs, { recursive: true });
    await assert.rejects(extractJudged(tarFile, rootfs, { rootedLinks: true, linksAllowed: true }, "the archive's root filesystem"), (e: unknown) => e instanceof CkptError && e.exitCode === 5 && /symbolic link/.test(e.message));
    const landed = [dir, join(dir, "deep"), join(dir, "deep", "deeper"), rootfs, "/tmp", "/"].filter((d) => existsSync(join(d, "ckpt-unit-chain-marker")));
    assert.deepEqual(landed, [], "the marker was written nowhere");
  });
}

test("attack: deleted.files through an absolute link of the base (/var/run -> /run) deletes the container's file, never the host's", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "ckpt-unit-deleted-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const host = join(dir, "host-run");
  const rootfs = join(dir, "rootfs");
  await mkdir(host);
  await mkdir(join(rootfs, "var"), { recursive: true });
  await mkdir(join(rootfs, host), { recursive: true });
  await writeFile(join(host, "x.pid"), "the host's");
  await writeFile(join(rootfs, host, "x.pid"), "the container's");
  // The base's link is absolute: on the host it names `host`, in the container rootfs/`host`.
  await symlink(host, join(rootfs, "var", "run"));
  await symlink("/etc/passwd", join(rootfs, "passwd-link"));
  await removeDeletedFiles(rootfs, ["/var/run/x.pid", "/passwd-link"]);
  assert.equal(await readFile(join(host, "x.pid"), "utf8"), "the host's", "the host's file is untouched");
  assert.equal(existsSync(join(rootfs, host, "x.pid")), false, "the container's own file is gone");
  assert.equal(existsSync(join(rootfs, "passwd-link")), false, "a listed link is removed itself");
  assert.equal(existsSync("/etc/passwd"), true, "not what it pointed at");
  await assert.rejects(removeDeletedFiles(rootfs, ["../outside"]), (e: unknown) => e instanceof CkptError && e.exitCode === 5);
});
