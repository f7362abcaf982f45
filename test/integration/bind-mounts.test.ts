// Bind mounts through checkpoint and restore on runc and crun. crun 1.21 could dump
// neither a bind mount whose destination is a symbolic link ("mnt: ... doesn't have a
// proper root mount") nor restore a bind mount nested in another whose mountpoint is
// missing from the outer mount's source ("mnt-v2: Can't stat mountpoint"); runc can.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdir, readdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { before, describe, test } from "node:test";
import { runtimeNames } from "../../src/runtimes/runtime.ts";
import { createBusyboxBundle, editBundleSpec } from "../harness/bundle.ts";
import { CkptRoot } from "../harness/ckpt-root.ts";
import { testResourcePrefix } from "../harness/owner.ts";
import { requireRealHost } from "../harness/prerequisites.ts";
import { removeStaleSandboxes, Sandbox } from "../harness/sandbox.ts";

const sleeper = ["/bin/sh", "-c", "exec sleep 1000 </dev/null >/dev/null 2>&1"];

for (const runtime of runtimeNames) {
  describe(`${runtime}: bind mounts through checkpoint and restore`, () => {
    before(() => removeStaleSandboxes());

    test("a bind mount whose destination is a symbolic link: dumped, restored, its content at the link's path, nothing made outside the root filesystem", async (t) => {
      if (!(await requireRealHost(t, runtime))) return;
      const sandbox = await Sandbox.create(t);
      const ckpt = new CkptRoot(sandbox);
      const bundle = await createBusyboxBundle(sandbox.path("bundle"), { args: sleeper });
      const volume = sandbox.path("volume");
      await mkdir(volume);
      await writeFile(sandbox.path("volume/greeting"), "hello from the host\n");
      // An absolute link whose target, taken on the host, would be a new directory at the
      // host's root: resolved inside the root filesystem it is the container's own.
      const hostEscape = `/${testResourcePrefix}data`;
      assert.ok(!existsSync(hostEscape));
      await mkdir(sandbox.path(`bundle/rootfs${hostEscape}`));
      await symlink(hostEscape, sandbox.path("bundle/rootfs/data"));
      await editBundleSpec(bundle, (spec) => {
        spec.mounts.push({ destination: "/data", type: "bind", source: volume, options: ["rbind", "rw"] });
      });

      await ckpt.ok(["--runtime", runtime, "run", "-d", "--name", "linked", bundle]);
      await ckpt.ok(["checkpoint", "linked"]);
      await ckpt.ok(["restore", "linked"]);
      assert.equal(String((await ckpt.ok(["exec", "linked", "--", "cat", "/data/greeting"])).stdout), "hello from the host");
      await ckpt.ok(["exec", "linked", "--", "sh", "-c", "echo written after restore > /data/after"]);
      assert.equal(await readFile(sandbox.path("volume/after"), "utf8"), "written after restore\n", "the link's path inside is the host volume");
      assert.ok(!existsSync(hostEscape), `nothing was created at ${hostEscape} on the host`);
    });

    test("bind mounts nested in a bind mount: restored although the outer source lost their mountpoints", async (t) => {
      if (!(await requireRealHost(t, runtime))) return;
      const sandbox = await Sandbox.create(t);
      const ckpt = new CkptRoot(sandbox);
      const bundle = await createBusyboxBundle(sandbox.path("bundle"), { args: sleeper });
      const [outer, inner, conf] = [sandbox.path("outer"), sandbox.path("inner"), sandbox.path("app.conf")];
      await Promise.all([mkdir(outer), mkdir(inner)]);
      await writeFile(sandbox.path("inner/file"), "inner content\n");
      await writeFile(conf, "setting=1\n");
      await editBundleSpec(bundle, (spec) => {
        spec.mounts.push(
          { destination: "/data", type: "bind", source: outer, options: ["rbind", "rw"] },
          { destination: "/data/nested/inner", type: "bind", source: inner, options: ["rbind", "rw"] },
          { destination: "/data/app.conf", type: "bind", source: conf, options: ["rbind", "ro"] },
        );
      });

      await ckpt.ok(["--runtime", runtime, "run", "-d", "--name", "nested", bundle]);
      await ckpt.ok(["checkpoint", "nested"]);
      // As on a host where the outer volume is a fresh directory: no mountpoints in it.
      await rm(outer, { recursive: true });
      await mkdir(outer);
      await ckpt.ok(["restore", "nested"]);
      assert.equal(String((await ckpt.ok(["exec", "nested", "--", "cat", "/data/nested/inner/file"])).stdout), "inner content");
      assert.equal(String((await ckpt.ok(["exec", "nested", "--", "cat", "/data/app.conf"])).stdout), "setting=1");
      assert.deepEqual((await readdir(outer)).sort(), ["app.conf", "nested"], "the mountpoints, and nothing else, are back in the outer source");
      assert.deepEqual(await readdir(inner), ["file"], "the inner source is untouched");
    });
  });
}
