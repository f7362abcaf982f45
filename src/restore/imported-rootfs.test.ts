import assert from "node:assert/strict";
import { test } from "node:test";
import type { OciSpec } from "../oci/spec.ts";
import { existsSync } from "node:fs";
import { lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeRawTar, type RawEntry } from "../../test/harness/archives.ts";
import { CkptError } from "../errors.ts";
import { extractJudged, planImportedSpec, prepareImportedRootfs, removeDeletedFiles } from "./imported-rootfs.ts";

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
    { destination: "/etc/hosts", source: "/ckpt/containers/web/mounts/0-etc_hosts", kind: "file" },
    { destination: "/dev/shm", source: "/ckpt/containers/web/mounts/1-dev_shm", kind: "dir" },
    { destination: "/run/.containerenv", source: "/ckpt/containers/web/mounts/2-run_.containerenv", kind: "file" },
  ]);
  const mounts = (spec as unknown as { mounts: { destination: string; source: string }[] }).mounts;
  assert.equal(mounts.find((m) => m.destination === "/etc/hosts")?.source, "/ckpt/containers/web/mounts/0-etc_hosts");
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

test("attack: a stand-in's destination that climbs (/.., /./../x, /) never names a path outside the directory of stand-ins (/.. once named the container's own directory, where /dev/shm's tar would have been extracted)", () => {
  const userdata = "/var/lib/containers/storage/overlay-containers/abc/userdata";
  const spec = { ...podmanSpec, mounts: ["/..", "/./../x", "/", "/../../etc/cron.d"].map((destination) => ({ destination, type: "bind", source: `${userdata}/shm`, options: ["rbind"] })) } as unknown as OciSpec;
  const sources = planImportedSpec(spec, "/r", "/ckpt/containers/web/mounts", () => false).placeholders.map((p) => p.source);
  assert.deepEqual(sources, ["/ckpt/containers/web/mounts/0-root", "/ckpt/containers/web/mounts/1-x", "/ckpt/containers/web/mounts/2-root", "/ckpt/containers/web/mounts/3-etc_cron.d"]);
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

// A --rootfs base whose links lead out of it when the host follows them: /var/run by an
// absolute path (Debian's /var/run -> /run), or by a relative one that climbs past the
// root (../../../host-run from ROOT/var is, on the host, three levels up). In the
// container both name its own /host-run; on the host they name the host's.
async function baseWithLinksOut(t: { after: (fn: () => Promise<void>) => void }, link: "absolute" | "relative") {
  const dir = await mkdtemp(join(tmpdir(), "ckpt-unit-base-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  // dir/host-run is the host's; dir/x/base (copied to dir/x/rootfs) the image.
  const hostRun = join(dir, "host-run");
  const base = join(dir, "x", "base");
  const rootfs = join(dir, "x", "rootfs");
  await mkdir(hostRun);
  await writeFile(join(hostRun, "x.pid"), "the host's");
  await writeFile(join(dir, "host-file"), "the host's");
  await mkdir(join(base, "var"), { recursive: true });
  await mkdir(join(base, "etc"), { recursive: true });
  // The relative target from base/var and base/etc reaches dir/ on the host.
  await symlink(link === "absolute" ? hostRun : "../../../host-run", join(base, "var", "run"));
  await symlink(link === "absolute" ? join(dir, "host-file") : "../../../host-file", join(base, "etc", "passwd-link"));
  const checkpoint = join(dir, "checkpoint-dir");
  await mkdir(checkpoint);
  const hostUntouched = async () => {
    assert.deepEqual(await readdir(hostRun), ["x.pid"], "nothing was added to the host's directory");
    assert.equal(await readFile(join(hostRun, "x.pid"), "utf8"), "the host's");
    assert.equal(await readFile(join(dir, "host-file"), "utf8"), "the host's");
  };
  return { dir, base, rootfs, checkpoint, hostRun, hostUntouched };
}

for (const link of ["absolute", "relative"] as const) {
  const aLink = link === "absolute" ? "an absolute link" : "a relative link";
  test(`attack: deleted.files through ${aLink} of the base that leads out on the host deletes the container's file, never the host's`, async (t) => {
    const b = await baseWithLinksOut(t, link);
    await writeFile(join(b.checkpoint, "deleted.files"), JSON.stringify(["/var/run/x.pid", "/etc/passwd-link/x"]));
    // The container's own /host-run (where its /var/run leads, in both cases) has an x.pid.
    const inContainer = link === "absolute" ? join(b.base, b.hostRun) : join(b.base, "host-run");
    await mkdir(inContainer, { recursive: true });
    await writeFile(join(inContainer, "x.pid"), "the container's");
    await prepareImportedRootfs(b.checkpoint, join(b.checkpoint, "checkpoint"), b.rootfs, b.base);
    await b.hostUntouched();
    const containerCopy = link === "absolute" ? join(b.rootfs, b.hostRun) : join(b.rootfs, "host-run");
    assert.deepEqual(await readdir(containerCopy), [], "the container's own x.pid is gone");
    assert.equal(await readlink(join(b.rootfs, "var", "run")), link === "absolute" ? b.hostRun : "../../../host-run", "the base's link is kept as it is");
  });

  test(`attack: a rootfs-diff.tar writing below ${aLink} of the base that leads out on the host is refused (exit 5); nothing lands on the host`, async (t) => {
    const b = await baseWithLinksOut(t, link);
    await writeRawTar(join(b.checkpoint, "rootfs-diff.tar"), [
      { path: "var/run/ckpt-unit-marker", type: "File", content: Buffer.from("owned") },
    ]);
    await assert.rejects(prepareImportedRootfs(b.checkpoint, join(b.checkpoint, "checkpoint"), b.rootfs, b.base), (e: unknown) => e instanceof CkptError && e.exitCode === 5 && /var\/run.*symbolic link/.test(e.message));
    await b.hostUntouched();
    assert.equal(existsSync(join(b.dir, "ckpt-unit-marker")), false);
  });

  test(`attack: a rootfs-diff.tar whose link, directory and hard link go below ${aLink} of the base is refused (exit 5); nothing lands on the host`, async (t) => {
    for (const entries of [
      [{ path: "var/run/sub", type: "Directory" }],
      [{ path: "var/run/new-link", type: "SymbolicLink", linkpath: "/etc" }],
      [{ path: "usr/f", type: "File", content: Buffer.from("x") }, { path: "var/run/hard", type: "Link", linkpath: "usr/f" }],
      [{ path: "usr/hard", type: "Link", linkpath: "etc/passwd-link" }],
    ] as RawEntry[][]) {
      const b = await baseWithLinksOut(t, link);
      await writeRawTar(join(b.checkpoint, "rootfs-diff.tar"), entries);
      await assert.rejects(prepareImportedRootfs(b.checkpoint, join(b.checkpoint, "checkpoint"), b.rootfs, b.base), (e: unknown) => e instanceof CkptError && e.exitCode === 5, entries.map((e) => e.path).join(", "));
      await b.hostUntouched();
      assert.deepEqual((await readdir(b.dir)).sort(), ["checkpoint-dir", "host-file", "host-run", "x"], "nothing new beside the host's files");
    }
  });

  test(`a rootfs-diff.tar file replacing ${aLink} of the base replaces the link itself, inside the root filesystem, never what it points at`, async (t) => {
    const b = await baseWithLinksOut(t, link);
    await writeRawTar(join(b.checkpoint, "rootfs-diff.tar"), [
      { path: "etc/passwd-link", type: "File", content: Buffer.from("the container's") },
      { path: "var/run", type: "Directory" },
      { path: "var/run/x.pid", type: "File", content: Buffer.from("the container's") },
    ]);
    await prepareImportedRootfs(b.checkpoint, join(b.checkpoint, "checkpoint"), b.rootfs, b.base);
    await b.hostUntouched();
    assert.equal((await lstat(join(b.rootfs, "etc", "passwd-link"))).isFile(), true);
    assert.equal(await readFile(join(b.rootfs, "etc", "passwd-link"), "utf8"), "the container's");
    assert.equal((await lstat(join(b.rootfs, "var", "run"))).isDirectory(), true, "the diff's directory replaced the base's link");
    assert.equal(await readFile(join(b.rootfs, "var", "run", "x.pid"), "utf8"), "the container's");
  });
}
