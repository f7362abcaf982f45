import assert from "node:assert/strict";
import { test } from "node:test";
import { mountsUnder } from "./mounts.ts";

// The shape of what a CRIU killed mid-restore left on this machine: runc's criu-root bind
// mount, and CRIU's cgroup yard (a tmpfs with a hierarchy mounted per controller).
const mountinfo = [
  "25 1 254:0 / / rw,relatime - ext4 /dev/vda rw",
  "44 27 254:0 /srv/b/rootfs /var/lib/ckpt/runtime/runc/abc/criu-root rw,relatime - ext4 /dev/vda rw",
  "50 25 0:60 / /var/lib/ckpt/containers/web/bundle/.criu.cgyard.KEd294 rw - tmpfs none rw",
  "51 50 0:30 / /var/lib/ckpt/containers/web/bundle/.criu.cgyard.KEd294/freezer rw - cgroup cgroup rw,freezer",
  "52 50 0:31 / /var/lib/ckpt/containers/web/bundle/.criu.cgyard.KEd294/cpu\\040acct rw - cgroup cgroup rw,cpu",
  "60 25 0:70 / /var/lib/ckpt/containers/webserver/bundle/x rw - tmpfs none rw",
  "61 25 0:71 / /var/lib/ckpt/runtime/runc/abcdef/criu-root rw - tmpfs none rw",
].join("\n");

test("a killed restore's leftovers: everything below the container's and the runtime state's directories, deepest first", () => {
  assert.deepEqual(mountsUnder(mountinfo, ["/var/lib/ckpt/containers/web", "/var/lib/ckpt/runtime/runc/abc"]), [
    "/var/lib/ckpt/containers/web/bundle/.criu.cgyard.KEd294/freezer",
    "/var/lib/ckpt/containers/web/bundle/.criu.cgyard.KEd294/cpu acct",
    "/var/lib/ckpt/runtime/runc/abc/criu-root",
    "/var/lib/ckpt/containers/web/bundle/.criu.cgyard.KEd294",
  ]);
});

test("siblings that merely share a prefix (webserver, abcdef) are left alone; nothing below means nothing", () => {
  assert.equal(mountsUnder(mountinfo, ["/var/lib/ckpt/containers/web"]).some((m) => m.includes("webserver")), false);
  assert.equal(mountsUnder(mountinfo, ["/var/lib/ckpt/runtime/runc/abc"]).some((m) => m.includes("abcdef")), false);
  assert.deepEqual(mountsUnder(mountinfo, ["/nowhere"]), []);
});
