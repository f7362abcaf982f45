import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import * as tar from "tar";
import { CkptError, ExitCode } from "../errors.ts";
import { readImageLayout, writeImageLayout } from "./layout.ts";
import { blobPath, MEDIA_TYPES, REF_NAME_ANNOTATION } from "./oci-image.ts";

const facts = { architecture: "amd64", createdAtRfc3339: "2026-12-02T10:00:00Z" };

// A small checkpoint-shaped directory, tarred and gzip'd as the layer.
async function layerFile(t: { after: (fn: () => Promise<void>) => void }) {
  const dir = await mkdtemp(join(tmpdir(), "ckpt-image-test-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, "config.dump"), "{}");
  await writeFile(join(dir, "spec.dump"), '{"ociVersion":"1.0.2"}');
  await writeFile(join(dir, "manifest.pb"), "ckpt's manifest");
  await tar.create({ gzip: true, file: join(dir, "layer.tar.gz"), cwd: dir }, ["config.dump", "spec.dump", "manifest.pb"]);
  return { dir, layer: join(dir, "layer.tar.gz"), layout: join(dir, "layout") };
}

const sha = (b: Uint8Array) => `sha256:${createHash("sha256").update(b).digest("hex")}`;

test("written and read back: digests of what is stored, the diff_id of the tar, the tag in the index, annotations on the manifest", async (t) => {
  const { layer, layout } = await layerFile(t);
  const gz = await readFile(layer);
  const written = await writeImageLayout(layout, "v1", layer, facts, { "io.ckpt.checkpoint.version": "0.1.0" });
  assert.deepEqual([written.layer.digest, written.layer.size, written.layer.mediaType], [sha(gz), gz.length, MEDIA_TYPES.layerGzip]);
  const { gunzipSync } = await import("node:zlib");
  assert.equal(written.diffId, sha(gunzipSync(gz)));
  const config = JSON.parse(await readFile(join(layout, blobPath(written.config.digest)!), "utf8")) as { rootfs: { diff_ids: string[] } };
  assert.deepEqual(config.rootfs.diff_ids, [written.diffId]);
  const index = JSON.parse(await readFile(join(layout, "index.json"), "utf8")) as { manifests: { digest: string; annotations: Record<string, string> }[] };
  assert.deepEqual(index.manifests.map((m) => [m.digest, m.annotations[REF_NAME_ANNOTATION]]), [[written.manifest.digest, "v1"]]);
  assert.deepEqual(JSON.parse(await readFile(join(layout, "oci-layout"), "utf8")), { imageLayoutVersion: "1.0.0" });
  const read = await readImageLayout(layout, "v1");
  assert.deepEqual([read.manifestDigest, read.annotations, read.layerPath], [written.manifest.digest, { "io.ckpt.checkpoint.version": "0.1.0" }, join(layout, blobPath(written.layer.digest)!)]);
  // A second tag in the same layout keeps the first; the same tag again replaces it.
  const again = await layerFile(t);
  await writeImageLayout(layout, "v2", again.layer, facts, {});
  const tags = (JSON.parse(await readFile(join(layout, "index.json"), "utf8")) as { manifests: { annotations: Record<string, string> }[] }).manifests.map((m) => m.annotations[REF_NAME_ANNOTATION]);
  assert.deepEqual(tags, ["v1", "v2"]);
});

const refused = (pattern: RegExp) => (e: unknown) => e instanceof CkptError && e.exitCode === ExitCode.badCheckpoint && pattern.test(e.message);

test("tampered layer: a flipped byte is refused naming the digest, before anything reads the tar", async (t) => {
  const { layer, layout } = await layerFile(t);
  const written = await writeImageLayout(layout, "v1", layer, facts, {});
  const path = join(layout, blobPath(written.layer.digest)!);
  const data = await readFile(path);
  data[data.length - 10] = data[data.length - 10]! ^ 0xff;
  await writeFile(path, data);
  await assert.rejects(readImageLayout(layout, "v1"), refused(/does not match its digest or size/));
});

test("hostile index and manifest: a traversal digest, two layers, an encrypted or foreign layer type, an unknown tag", async (t) => {
  const { layer, layout } = await layerFile(t);
  const written = await writeImageLayout(layout, "v1", layer, facts, {});
  const indexPath = join(layout, "index.json");
  const index = JSON.parse(await readFile(indexPath, "utf8")) as { manifests: { digest: string }[] };
  await writeFile(indexPath, JSON.stringify({ ...index, manifests: [{ ...index.manifests[0], digest: "sha256:../../../etc/passwd" }] }));
  await assert.rejects(readImageLayout(layout, "v1"), refused(/no sha256 digest/));
  const manifest = JSON.parse(await readFile(join(layout, blobPath(written.manifest.digest)!), "utf8")) as { layers: { mediaType: string }[] };
  const put = async (m: unknown) => {
    const bytes = Buffer.from(JSON.stringify(m));
    await writeFile(join(layout, blobPath(sha(bytes))!), bytes);
    await writeFile(indexPath, JSON.stringify({ ...index, manifests: [{ ...index.manifests[0], digest: sha(bytes), size: bytes.length }] }));
  };
  await put({ ...manifest, layers: [manifest.layers[0], manifest.layers[0]] });
  await assert.rejects(readImageLayout(layout, "v1"), refused(/has 2 layers; a checkpoint image has one/));
  await put({ ...manifest, layers: [{ ...manifest.layers[0], mediaType: "application/vnd.oci.image.layer.v1.tar+gzip+encrypted" }] });
  await assert.rejects(readImageLayout(layout, "v1"), refused(/encrypted: give the key/));
  await put(manifest);
  await assert.rejects(readImageLayout(layout, "v9"), refused(/no manifest tagged v9/));
  assert.equal((await readImageLayout(layout, "v1")).layer.digest, written.layer.digest);
});

test("the annotations may name the digest of the manifest.pb the layer carries, read in the same pass as the layer's digests", async (t) => {
  const { layer, layout } = await layerFile(t);
  const written = await writeImageLayout(layout, "v1", layer, facts, (pb) => ({ "io.ckpt.checkpoint.manifest.digest": pb ?? "none" }));
  assert.equal(written.annotations["io.ckpt.checkpoint.manifest.digest"], sha(Buffer.from("ckpt's manifest")));
  assert.deepEqual((await readImageLayout(layout, "v1")).annotations, written.annotations);
});
