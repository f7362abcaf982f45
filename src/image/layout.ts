// An OCI image layout on disk (oci:DIR:TAG): written around a checkpoint layer that is
// already compressed, and read back with every digest checked. What an image holds is
// hostile input: blobs are found only through digests of the sha256:<64 hex> form, JSON is
// read with a size bound, and every blob must hash to its digest and have its size.
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { copyFile, mkdir, open, readFile, rename, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { Writable } from "node:stream";
import { createGunzip } from "node:zlib";
import * as tar from "tar";
import { CkptError, ExitCode } from "../errors.ts";
import { writeFileAtomic } from "../store/atomic-write.ts";
import { blobPath, imageConfig, imageIndex, imageManifest, MEDIA_TYPES, OCI_LAYOUT_VERSION, REF_NAME_ANNOTATION, type CheckpointImageFacts, type Descriptor } from "./oci-image.ts";

// The JSON documents of an image are small; anything larger is not one.
export const MAX_IMAGE_JSON_BYTES = 4 * 1024 * 1024;

export interface WrittenImage {
  annotations: Record<string, string>;
  manifest: Descriptor;
  config: Descriptor;
  layer: Descriptor;
  diffId: string;
}

function sha256(data: Uint8Array): string {
  return `sha256:${createHash("sha256").update(data).digest("hex")}`;
}

// The layer's digest and size as stored, its uncompressed digest (the config's diff_id),
// and the SHA-256 of the tar entry `entryDigest` names (ckpt's manifest.pb), in one read
// of the file.
export async function digestGzipLayer(path: string, entryDigest?: string): Promise<{ digest: string; size: number; diffId: string; entry: string | null }> {
  const compressed = createHash("sha256");
  const uncompressed = createHash("sha256");
  let size = 0;
  let entry: string | null = null;
  const parser = entryDigest === undefined ? null : new tar.Parser({
    onReadEntry: (e) => {
      if (e.path !== entryDigest) return void e.resume();
      const hash = createHash("sha256");
      e.on("data", (c: Buffer) => hash.update(c));
      e.on("end", () => (entry = `sha256:${hash.digest("hex")}`));
    },
  });
  const gunzip = createGunzip();
  const done = pipeline(gunzip, new Writable({
    write: (chunk: Buffer, _e, cb) => {
      uncompressed.update(chunk);
      if (parser === null || parser.write(chunk)) cb();
      else parser.once("drain", () => cb());
    },
  }));
  for await (const chunk of createReadStream(path, { highWaterMark: 4 * 1024 * 1024 }) as AsyncIterable<Buffer>) {
    compressed.update(chunk);
    size += chunk.length;
    if (!gunzip.write(chunk)) await new Promise((resolve) => gunzip.once("drain", resolve));
  }
  gunzip.end();
  await done;
  if (parser !== null) await new Promise<void>((resolve) => (parser.once("end", () => resolve()), parser.end()));
  return { digest: `sha256:${compressed.digest("hex")}`, size, diffId: `sha256:${uncompressed.digest("hex")}`, entry };
}

async function writeBlob(layout: string, data: Uint8Array, mediaType: string): Promise<Descriptor> {
  const digest = sha256(data);
  await writeFileAtomic(join(layout, blobPath(digest)!), data, 0o644);
  return { mediaType, digest, size: data.length };
}

// Writes (or adds to) the OCI layout `layout`: the gzip'd checkpoint tar at `layerFile`
// (moved in, or copied across file systems), its config and a manifest with `annotations`,
// the index naming it `tag` (an older manifest of that tag is replaced, others kept).
// `annotations` may be a function of the layer's manifest.pb digest (null when it has none).
export async function writeImageLayout(layout: string, tag: string, layerFile: string, facts: Pick<CheckpointImageFacts, "architecture" | "createdAtRfc3339">, annotationsOf: Record<string, string> | ((manifestPbDigest: string | null) => Record<string, string>)): Promise<WrittenImage> {
  const measured = await digestGzipLayer(layerFile, "manifest.pb");
  const annotations = typeof annotationsOf === "function" ? annotationsOf(measured.entry) : annotationsOf;
  await mkdir(join(layout, "blobs", "sha256"), { recursive: true });
  const layerPath = join(layout, blobPath(measured.digest)!);
  await rename(layerFile, layerPath).catch(async (e: NodeJS.ErrnoException) => {
    if (e.code !== "EXDEV") throw e;
    await copyFile(layerFile, `${layerPath}.partial`);
    await rename(`${layerPath}.partial`, layerPath);
    await rm(layerFile, { force: true });
  });
  const layer: Descriptor = { mediaType: MEDIA_TYPES.layerGzip, digest: measured.digest, size: measured.size };
  const config = await writeBlob(layout, Buffer.from(JSON.stringify(imageConfig(facts, measured.diffId))), MEDIA_TYPES.config);
  const manifest = await writeBlob(layout, Buffer.from(JSON.stringify(imageManifest(config, layer, annotations))), MEDIA_TYPES.manifest);
  const existing = await readJson<{ manifests?: (Descriptor & { annotations?: Record<string, string> })[] }>(join(layout, "index.json")).catch(() => null);
  const index = imageIndex(manifest, tag) as { manifests: Descriptor[] };
  const kept = (existing?.manifests ?? []).filter((m) => m.annotations?.[REF_NAME_ANNOTATION] !== tag);
  await writeFileAtomic(join(layout, "oci-layout"), JSON.stringify({ imageLayoutVersion: OCI_LAYOUT_VERSION }), 0o644);
  await writeFileAtomic(join(layout, "index.json"), JSON.stringify({ ...index, manifests: [...kept, ...index.manifests] }), 0o644);
  return { annotations, manifest, config, layer, diffId: measured.diffId };
}

export interface ReadImage {
  manifestDigest: string;
  annotations: Record<string, string>;
  layer: Descriptor;
  // The verified layer blob.
  layerPath: string;
}

const bad = (what: string) => new CkptError(ExitCode.badCheckpoint, `the image is not a usable checkpoint image: ${what}`, { hint: "ckpt restores images made by ckpt checkpoint --create-image, podman container checkpoint --create-image and checkpointctl build" });

async function readJson<T>(path: string, expected?: { digest: string; size: number }): Promise<T> {
  const size = (await stat(path)).size;
  if (size > MAX_IMAGE_JSON_BYTES) throw bad(`${path} is ${size} bytes, more than an image document can be`);
  const data = await readFile(path);
  if (expected !== undefined && (data.length !== expected.size || sha256(data) !== expected.digest)) throw bad(`a blob does not match its digest ${expected.digest}`);
  return JSON.parse(data.toString("utf8")) as T;
}

async function verifyBlob(layout: string, d: Descriptor): Promise<string> {
  const rel = blobPath(d.digest);
  if (rel === null) throw bad(`"${String(d.digest).slice(0, 80)}" is not a sha256 digest`);
  const path = join(layout, rel);
  const hash = createHash("sha256");
  let size = 0;
  const handle = await open(path, "r").catch(() => {
    throw bad(`the blob ${d.digest} is missing`);
  });
  try {
    for await (const chunk of handle.createReadStream({ highWaterMark: 4 * 1024 * 1024 }) as AsyncIterable<Buffer>) {
      hash.update(chunk);
      size += chunk.length;
      if (size > d.size) break;
    }
  } finally {
    await handle.close().catch(() => {});
  }
  if (size !== d.size || `sha256:${hash.digest("hex")}` !== d.digest) throw bad(`the blob ${d.digest} does not match its digest or size`);
  return path;
}

// The checkpoint layer of `tag` in the OCI layout `layout`, every digest on the way checked.
export async function readImageLayout(layout: string, tag: string): Promise<ReadImage> {
  const index = await readJson<{ manifests?: (Descriptor & { annotations?: Record<string, string> })[] }>(join(layout, "index.json")).catch((e: unknown) => {
    throw e instanceof CkptError ? e : bad(`no readable index.json (${(e as Error).message})`);
  });
  const manifests = Array.isArray(index.manifests) ? index.manifests : [];
  // The manifest of that tag; an index of one untagged manifest (as some tools write) is it.
  const entry = manifests.find((m) => m.annotations?.[REF_NAME_ANNOTATION] === tag) ?? (manifests.length === 1 && manifests[0]!.annotations?.[REF_NAME_ANNOTATION] === undefined ? manifests[0] : undefined);
  if (entry === undefined) throw bad(`no manifest tagged ${tag}`);
  if (entry.mediaType !== MEDIA_TYPES.manifest) throw bad(`the manifest is ${String(entry.mediaType)}, not an OCI image manifest`);
  const manifestRel = blobPath(entry.digest);
  if (manifestRel === null) throw bad("the index names a manifest by no sha256 digest");
  const manifest = await readJson<{ layers?: Descriptor[]; config?: Descriptor; annotations?: Record<string, string> }>(join(layout, manifestRel), entry);
  const layers = Array.isArray(manifest.layers) ? manifest.layers : [];
  if (layers.length !== 1) throw bad(`it has ${layers.length} layers; a checkpoint image has one`);
  const layer = layers[0]!;
  if (layer.mediaType !== MEDIA_TYPES.layerGzip && layer.mediaType !== MEDIA_TYPES.layerTar) {
    throw bad(`its layer is ${String(layer.mediaType)}${String(layer.mediaType).includes("encrypted") ? " (encrypted: give the key)" : ""}, not a tar or tar+gzip layer`);
  }
  if (manifest.config !== undefined) await verifyBlob(layout, manifest.config);
  const annotations = manifest.annotations !== null && typeof manifest.annotations === "object" ? Object.fromEntries(Object.entries(manifest.annotations).filter(([, v]) => typeof v === "string")) : {};
  return { manifestDigest: entry.digest, annotations, layer, layerPath: await verifyBlob(layout, layer) };
}
