// Pure: a checkpoint as an OCI image (image-spec v1.1): one layer that holds the checkpoint
// directory unpacked at / (config.dump, spec.dump, checkpoint/, ..., ckpt's manifest), a
// config naming that layer's uncompressed digest, a manifest with the annotations each
// engine looks for, and the index of an OCI layout. There is no checkpoint media type:
// engines recognise a checkpoint image by their own annotation key on the manifest, and
// an image marked for one engine is not seen by the others, so ckpt writes all three
// families (podman's, CRI-O's, containerd's and checkpointctl's) with the values each
// requires, plus its own.

export const MEDIA_TYPES = {
  index: "application/vnd.oci.image.index.v1+json",
  manifest: "application/vnd.oci.image.manifest.v1+json",
  config: "application/vnd.oci.image.config.v1+json",
  layerGzip: "application/vnd.oci.image.layer.v1.tar+gzip",
  layerTar: "application/vnd.oci.image.layer.v1.tar",
} as const;

export const OCI_LAYOUT_VERSION = "1.0.0";
// The index annotation that names a manifest's tag in an OCI layout (oci:DIR:TAG).
export const REF_NAME_ANNOTATION = "org.opencontainers.image.ref.name";

// podman (4.x) restores an image as a checkpoint when its manifest carries
// `…checkpoint.runtime.name` equal to its runtime; it writes the fourteen keys below.
export const PODMAN_PREFIX = "io.podman.annotations.checkpoint.";
// CRI-O restores an image whose manifest has this key (the container's name).
export const CRIO_NAME = "io.kubernetes.cri-o.annotations.checkpoint.name";
// containerd (2.1 to 2.3) and checkpointctl's `build` use this family.
export const CRIU_PREFIX = "org.criu.checkpoint.";
// ckpt's own.
export const CKPT_PREFIX = "io.ckpt.checkpoint.";

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
}

// What the annotations say, from the checkpoint's manifest and this host.
export interface CheckpointImageFacts {
  containerName: string;
  containerId: string;
  runtime: { name: string; version: string };
  criuVersion: string;
  kernelRelease: string;
  // "amd64", as OCI names architectures.
  architecture: string;
  cgroupsVersion: "v1" | "v2";
  distribution: { name: string; version: string };
  ckptVersion: string;
  // The root filesystem's image when the container came from one (podman's), else "".
  rootfsImageName: string;
  rootfsImageId: string;
  // sha256:… of ckpt's manifest.pb in the layer; the fingerprint of its signer, or null.
  manifestDigest: string;
  signer: string | null;
  // Who kept exec'd processes on PID 1's clock (the manifest's execJoinedBy), or "".
  execJoinedBy: string;
  createdAtRfc3339: string;
}

export function checkpointAnnotations(f: CheckpointImageFacts): Record<string, string> {
  const podman: Record<string, string> = {
    name: f.containerName,
    rawImageName: f.rootfsImageName,
    rootfsImageID: f.rootfsImageId,
    rootfsImageName: f.rootfsImageName,
    "podman.version": "",
    // podman writes CRIU's version as CRIU's own number (4.2.1 -> "40201").
    "criu.version": criuVersionNumber(f.criuVersion),
    "runtime.name": f.runtime.name,
    "runtime.version": f.runtime.version,
    "conmon.version": "",
    "host.arch": f.architecture,
    "host.kernel": f.kernelRelease,
    "cgroups.version": f.cgroupsVersion,
    "distribution.name": f.distribution.name,
    "distribution.version": f.distribution.version,
  };
  const criu: Record<string, string> = {
    "engine.name": "ckpt",
    "container.name": f.containerName,
    "pod.name": "",
    "pod.namespace": "",
    rootfsImageName: f.rootfsImageName,
    rootfsImageID: f.rootfsImageId,
    "runtime.name": f.runtime.name,
  };
  const own: Record<string, string> = {
    version: f.ckptVersion,
    "container.id": f.containerId,
    ...(f.manifestDigest === "" ? {} : { "manifest.digest": f.manifestDigest }),
    ...(f.signer === null ? {} : { signer: f.signer }),
    ...(f.execJoinedBy === "" ? {} : { "timens.exec-joined-by": f.execJoinedBy }),
  };
  return {
    ...prefixed(PODMAN_PREFIX, podman),
    [CRIO_NAME]: f.containerName,
    ...prefixed(CRIU_PREFIX, criu),
    ...prefixed(CKPT_PREFIX, own),
    "org.opencontainers.image.created": f.createdAtRfc3339,
  };
}

function prefixed(prefix: string, values: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(values).map(([k, v]) => [`${prefix}${k}`, v]));
}

// The image config: no command to run (the checkpoint is restored, never started from
// the image), the layer's uncompressed digest.
export function imageConfig(f: Pick<CheckpointImageFacts, "architecture" | "createdAtRfc3339">, diffId: string): Record<string, unknown> {
  return {
    created: f.createdAtRfc3339,
    architecture: f.architecture,
    os: "linux",
    config: {},
    rootfs: { type: "layers", diff_ids: [diffId] },
    history: [{ created: f.createdAtRfc3339, created_by: "ckpt checkpoint --create-image", comment: "a checkpoint: restore it with ckpt restore IMAGE" }],
  };
}

export function imageManifest(config: Descriptor, layer: Descriptor, annotations: Record<string, string>): Record<string, unknown> {
  return { schemaVersion: 2, mediaType: MEDIA_TYPES.manifest, config, layers: [layer], annotations };
}

export function imageIndex(manifest: Descriptor, tag: string): Record<string, unknown> {
  return { schemaVersion: 2, mediaType: MEDIA_TYPES.index, manifests: [{ ...manifest, annotations: { [REF_NAME_ANNOTATION]: tag } }] };
}

// Which engines would see an image with these manifest annotations as a checkpoint.
export function recognisedBy(annotations: Readonly<Record<string, string>>, podmanRuntime = "runc"): string[] {
  return [
    ...(annotations[`${PODMAN_PREFIX}runtime.name`] === podmanRuntime ? ["podman"] : []),
    ...(annotations[CRIO_NAME] ? ["cri-o"] : []),
    ...(annotations[`${CRIU_PREFIX}container.name`] ? ["containerd"] : []),
    ...(annotations[`${CKPT_PREFIX}manifest.digest`] ? ["ckpt"] : []),
  ];
}

// "sha256:<64 hex>" -> the blob's path below an OCI layout, or null when it is not one.
export function blobPath(digest: string): string | null {
  const m = /^sha256:([0-9a-f]{64})$/.exec(digest);
  return m === null ? null : `blobs/sha256/${m[1]}`;
}

// The OCI architecture name of Node's.
export function ociArchitecture(nodeArch: string): string {
  return ({ x64: "amd64", arm64: "arm64", arm: "arm", ia32: "386", ppc64: "ppc64le", s390x: "s390x", riscv64: "riscv64" } as Record<string, string>)[nodeArch] ?? nodeArch;
}

// CRIU's version as the number libcriu reports (major * 10000 + minor * 100 + sublevel),
// the form podman records: "4.2.1" -> "40201"; "" when it cannot be read.
export function criuVersionNumber(version: string): string {
  const m = /^(\d+)\.(\d+)(?:\.(\d+))?/.exec(version);
  return m === null ? "" : String(Number(m[1]) * 10000 + Number(m[2]) * 100 + Number(m[3] ?? 0));
}
