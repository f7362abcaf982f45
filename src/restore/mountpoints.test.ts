import assert from "node:assert/strict";
import { existsSync, statSync } from "node:fs";
import { mkdir, mkdtemp, readdir, rm, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import type { OciSpec } from "../oci/spec.ts";
import { createMountpoints, planMountpoints } from "./mountpoints.ts";

function spec(mounts: OciSpec["mounts"]): OciSpec {
  return { ociVersion: "1.0.2", process: { args: ["sh"], cwd: "/" }, root: { path: "/rootfs" }, mounts };
}
const files = new Set(["/h/file"]);
const isDirectory = (source: string) => !files.has(source);

test("a bind mount at the top level gets its mountpoint in the root filesystem", () => {
  assert.deepEqual(planMountpoints(spec([{ destination: "/data", type: "bind", source: "/h/a" }]), isDirectory), [
    { base: "/rootfs", pathInBase: "/data", kind: "directory", destination: "/data" },
  ]);
});

test("a bind mount nested in another gets its mountpoint in the outer mount's source", () => {
  const plan = planMountpoints(spec([
    { destination: "/data", type: "bind", source: "/h/a", options: ["rbind"] },
    { destination: "/data/sub", type: "bind", source: "/h/b" },
    { destination: "/data/sub/deeper/x", type: "none", source: "/h/c", options: ["bind"] },
    { destination: "/data/file", type: "bind", source: "/h/file" },
  ]), isDirectory);
  assert.deepEqual(plan.map((p) => [p.base, p.pathInBase, p.kind]), [
    ["/rootfs", "/data", "directory"],
    ["/h/a", "sub", "directory"],
    ["/h/b", "deeper/x", "directory"],
    ["/h/a", "file", "file"],
  ]);
});

test("only a mount listed earlier counts as the outer one, and /data is not the parent of /data2", () => {
  const plan = planMountpoints(spec([
    { destination: "/data/sub", type: "bind", source: "/h/b" },
    { destination: "/data", type: "bind", source: "/h/a" },
    { destination: "/data2/x", type: "bind", source: "/h/c" },
  ]), isDirectory);
  assert.deepEqual(plan.map((p) => [p.base, p.pathInBase]), [["/rootfs", "/data/sub"], ["/rootfs", "/data"], ["/rootfs", "/data2/x"]]);
});

test("mounts nested in a tmpfs, and non-bind mounts, need no mountpoint from ckpt", () => {
  const plan = planMountpoints(spec([
    { destination: "/dev", type: "tmpfs", source: "tmpfs" },
    { destination: "/dev/shm", type: "tmpfs", source: "shm" },
    { destination: "/dev/kmsg", type: "bind", source: "/h/file" },
  ]), isDirectory);
  assert.deepEqual(plan, []);
});

test("a bind mount in an outer mount with a relative source is left to the runtime", () => {
  const plan = planMountpoints(spec([
    { destination: "/data", type: "bind", source: "relative/dir" },
    { destination: "/data/sub", type: "bind", source: "/h/b" },
  ]), isDirectory);
  assert.deepEqual(plan.map((p) => p.destination), ["/data"]);
});

test("missing mountpoints are created, links in the base never lead outside it", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "ckpt-mountpoints-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const outer = join(dir, "outer-source");
  const outside = join(dir, "outside");
  await Promise.all([mkdir(join(outer, "present"), { recursive: true }), mkdir(outside)]);
  await symlink("../../outside/x", join(outer, "escape"));
  await symlink(outside, join(outer, "absolute"));
  const created = await createMountpoints([
    { base: outer, pathInBase: "sub/deeper", kind: "directory", destination: "/data/sub/deeper" },
    { base: outer, pathInBase: "present", kind: "directory", destination: "/data/present" },
    { base: outer, pathInBase: "escape", kind: "directory", destination: "/data/escape" },
    { base: outer, pathInBase: "absolute/f", kind: "file", destination: "/data/absolute/f" },
  ]);
  assert.ok(statSync(join(outer, "sub/deeper")).isDirectory());
  assert.deepEqual(await readdir(outside), [], "nothing was created through a link that points outside the base");
  assert.ok(statSync(join(outer, "outside/x")).isDirectory(), "the relative link's target, taken inside the base");
  assert.ok(statSync(join(outer, dir, "outside/f")).isFile(), "the absolute link's target, taken inside the base");
  assert.deepEqual(created, [join(outer, "sub/deeper"), join(outer, "outside/x"), join(outer, dir, "outside/f")]);
  assert.ok(existsSync(join(outer, "present")));
});
