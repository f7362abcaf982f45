import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { test } from "node:test";
import { readDumpContents } from "../criu/dump-contents.ts";
import type { OciSpec } from "../oci/spec.ts";
import { foreignManifest } from "./checkpoint-source.ts";

const podman = fileURLToPath(new URL("../../test/fixtures/criu/podman-busybox/", import.meta.url));
const spec = { ociVersion: "1.0.2", process: { args: ["/bin/sh"], cwd: "/" }, root: { path: "/merged" }, linux: { namespaces: [{ type: "pid" }] } } as OciSpec;
const id = "132444b3c5908d38a9a336bc50e969447d425083e276688a82c94748e3881ac7";

test("a podman checkpoint's manifest, pieced together from its images and config.dump", async () => {
  const dump = await readDumpContents(podman, { details: false });
  const m = foreignManifest(spec, dump, { name: "web", id, rootfsImageName: "localhost/bb:latest" }, "runc", 1_795_336_000_123_456_789n);
  assert.deepEqual([m.container.name, m.container.id, m.container.rootfs, m.runtime.name], ["web", id, "/merged", "runc"]);
  assert.deepEqual(m.tasks.map((t) => [t.pid, t.ppid, t.command]), [
    [1, 0, "sh"],
    [8, 1, "sleep"],
  ]);
  assert.equal(m.timeNamespace.dumpedMonotonicNs, String(dump.timens!.monotonicNs));
  assert.equal(m.checkpointedAtNs, "1795336000123456789");
  // Unknown boot and unknown namespace: the clock planner must not assume the host's.
  assert.deepEqual([m.bootId, m.timeNamespace.pid1InHostNamespace, m.timeNamespace.declared], ["", false, false]);
});

test("without config.dump (bare runc images) the name is a placeholder and the id is new", async () => {
  const dump = await readDumpContents(podman, { details: false });
  const m = foreignManifest(spec, dump, null, "crun", 0n);
  assert.equal(m.container.name, "restored");
  assert.match(m.container.id, /^[0-9a-f]{64}$/);
  assert.notEqual(m.container.id, id);
});
