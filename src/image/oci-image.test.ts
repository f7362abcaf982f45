import assert from "node:assert/strict";
import { test } from "node:test";
import { blobPath, checkpointAnnotations, CKPT_PREFIX, CRIO_NAME, CRIU_PREFIX, imageConfig, imageIndex, imageManifest, MEDIA_TYPES, ociArchitecture, PODMAN_PREFIX, recognisedBy, REF_NAME_ANNOTATION, type CheckpointImageFacts } from "./oci-image.ts";
import { looksLikeImageRef, parseImageRef } from "./image-ref.ts";
import { criuVersionNumber } from "./oci-image.ts";
import { fixtureText } from "../../test/support/fixtures.ts";

const facts: CheckpointImageFacts = {
  containerName: "web",
  containerId: "c90b3ce366dfa621d8b6d4e538fc2a5730fadd0d56b8739b2c8b70860b9b489a",
  runtime: { name: "runc", version: "1.1.5+ds1" },
  criuVersion: "4.2.1",
  kernelRelease: "6.18.44",
  architecture: "amd64",
  cgroupsVersion: "v1",
  distribution: { name: "debian", version: "12" },
  ckptVersion: "0.1.0",
  rootfsImageName: "",
  rootfsImageId: "",
  manifestDigest: `sha256:${"a".repeat(64)}`,
  signer: "SHA256:abc",
  execJoinedBy: "ckpt",
  createdAtRfc3339: "2026-12-02T10:00:00.000000000Z",
};

test("all three annotation families, with the values each engine requires, and ckpt's own", () => {
  const a = checkpointAnnotations(facts);
  // podman: the fourteen keys it writes; runtime.name must equal its runtime.
  const podmanKeys = Object.keys(a).filter((k) => k.startsWith(PODMAN_PREFIX)).map((k) => k.slice(PODMAN_PREFIX.length)).sort();
  assert.deepEqual(podmanKeys, ["cgroups.version", "conmon.version", "criu.version", "distribution.name", "distribution.version", "host.arch", "host.kernel", "name", "podman.version", "rawImageName", "rootfsImageID", "rootfsImageName", "runtime.name", "runtime.version"]);
  assert.equal(a[`${PODMAN_PREFIX}runtime.name`], "runc");
  // CRI-O: the container's name under its key.
  assert.equal(a[CRIO_NAME], "web");
  // containerd and checkpointctl: org.criu.checkpoint.*.
  assert.deepEqual(Object.keys(a).filter((k) => k.startsWith(CRIU_PREFIX)).map((k) => k.slice(CRIU_PREFIX.length)).sort(), ["container.name", "engine.name", "pod.name", "pod.namespace", "rootfsImageID", "rootfsImageName", "runtime.name"]);
  assert.equal(a[`${CRIU_PREFIX}container.name`], "web");
  assert.deepEqual([a[`${CKPT_PREFIX}manifest.digest`], a[`${CKPT_PREFIX}signer`], a[`${CKPT_PREFIX}timens.exec-joined-by`]], [facts.manifestDigest, "SHA256:abc", "ckpt"]);
  assert.deepEqual(recognisedBy(a), ["podman", "cri-o", "containerd", "ckpt"]);
  assert.deepEqual(recognisedBy(a, "crun"), ["cri-o", "containerd", "ckpt"], "podman configured for crun would not restore a runc checkpoint");
  // Unsigned: no signer key at all (not an empty one).
  assert.equal(`${CKPT_PREFIX}signer` in checkpointAnnotations({ ...facts, signer: null }), false);
  // Every value is a string (OCI annotations are string to string).
  assert.ok(Object.values(a).every((v) => typeof v === "string"));
});

test("config, manifest and index: OCI media types, one layer, the diff_id, the tag in the index", () => {
  const config = imageConfig(facts, `sha256:${"d".repeat(64)}`) as { os: string; architecture: string; rootfs: { type: string; diff_ids: string[] } };
  assert.deepEqual([config.os, config.architecture, config.rootfs], ["linux", "amd64", { type: "layers", diff_ids: [`sha256:${"d".repeat(64)}`] }]);
  const c = { mediaType: MEDIA_TYPES.config, digest: `sha256:${"c".repeat(64)}`, size: 300 };
  const l = { mediaType: MEDIA_TYPES.layerGzip, digest: `sha256:${"e".repeat(64)}`, size: 12345 };
  const m = imageManifest(c, l, { k: "v" }) as { schemaVersion: number; mediaType: string; config: unknown; layers: unknown[]; annotations: unknown };
  assert.deepEqual(m, { schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json", config: c, layers: [l], annotations: { k: "v" } });
  assert.equal(l.mediaType, "application/vnd.oci.image.layer.v1.tar+gzip");
  const md = { mediaType: MEDIA_TYPES.manifest, digest: `sha256:${"f".repeat(64)}`, size: 900 };
  assert.deepEqual(imageIndex(md, "v1"), { schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json", manifests: [{ ...md, annotations: { [REF_NAME_ANNOTATION]: "v1" } }] });
});

test("blob paths only from sha256 digests: traversal and other algorithms are refused", () => {
  assert.equal(blobPath(`sha256:${"0".repeat(64)}`), `blobs/sha256/${"0".repeat(64)}`);
  for (const d of ["sha256:../../etc/passwd", `sha512:${"0".repeat(128)}`, `sha256:${"0".repeat(63)}`, `sha256:${"A".repeat(64)}`, `sha256:${"0".repeat(64)}/x`, ""]) assert.equal(blobPath(d), null, d);
  assert.deepEqual(["x64", "arm64", "mips"].map(ociArchitecture), ["amd64", "arm64", "mips"]);
});

test("image references: skopeo's transports, tags, and what is not one", () => {
  assert.deepEqual(parseImageRef("oci:/srv/images:web-1"), { transport: "oci", rest: "/srv/images:web-1", path: "/srv/images", tag: "web-1" });
  assert.deepEqual(parseImageRef("oci:/srv/images"), { transport: "oci", rest: "/srv/images", path: "/srv/images", tag: "latest" });
  assert.deepEqual(parseImageRef("oci-archive:/tmp/web.tar"), { transport: "oci-archive", rest: "/tmp/web.tar", path: "/tmp/web.tar", tag: "latest" });
  assert.deepEqual(parseImageRef("docker://127.0.0.1:5000/ckpt/web:1"), { transport: "docker", rest: "//127.0.0.1:5000/ckpt/web:1" });
  assert.deepEqual(parseImageRef("containers-storage:localhost/web:1"), { transport: "containers-storage", rest: "localhost/web:1" });
  for (const bad of ["web", "docker:web", "oci:", "oci::tag", "oci:/d:bad/tag", "oci:/d:\u0000"]) assert.ok("error" in parseImageRef(bad), bad);
  assert.deepEqual(["oci:/d", "docker://h/r", "containers-storage:x", "web", "/var/lib/ckpt/checkpoints/web/1", "web.tar.zst"].map(looksLikeImageRef), [true, true, true, false, false, false]);
});

test("against podman 4.3.1's own checkpoint image (test/fixtures/image/podman-4.3.1, made here with --create-image): the same podman keys, the same media types, CRIU's version in podman's form", () => {
  const podman = JSON.parse(fixtureText("image/podman-4.3.1/manifest.json")) as { mediaType: string; config: { mediaType: string }; layers: { mediaType: string }[]; annotations: Record<string, string> };
  const theirs = Object.keys(podman.annotations).filter((k) => k.startsWith(PODMAN_PREFIX)).sort();
  const ours = Object.keys(checkpointAnnotations(facts)).filter((k) => k.startsWith(PODMAN_PREFIX)).sort();
  assert.deepEqual(ours, theirs);
  assert.deepEqual([podman.mediaType, podman.config.mediaType, podman.layers.map((l) => l.mediaType)], [MEDIA_TYPES.manifest, MEDIA_TYPES.config, [MEDIA_TYPES.layerGzip]]);
  assert.equal(podman.annotations[`${PODMAN_PREFIX}criu.version`], "40201");
  assert.equal(checkpointAnnotations(facts)[`${PODMAN_PREFIX}criu.version`], "40201");
  assert.deepEqual(["4.1.1", "3.17", "x"].map(criuVersionNumber), ["40101", "31700", ""]);
  // podman's image carries only its own family: CRI-O and containerd would not see it.
  assert.deepEqual(recognisedBy(podman.annotations, podman.annotations[`${PODMAN_PREFIX}runtime.name`]), ["podman"]);
  const config = JSON.parse(fixtureText("image/podman-4.3.1/config.json")) as { os: string; rootfs: { type: string; diff_ids: string[] } };
  assert.deepEqual([config.os, config.rootfs.type, config.rootfs.diff_ids.length], ["linux", "layers", 1]);
});
