// Pure: image references in skopeo's transport syntax, the ones ckpt takes for checkpoint
// images: oci:DIR[:TAG], oci-archive:FILE[:TAG], containers-storage:NAME (podman's store),
// docker://HOST/REPO[:TAG|@DIGEST] (a registry). ckpt writes OCI layouts itself and hands
// every other transport to skopeo.

export type ImageTransport = "oci" | "oci-archive" | "containers-storage" | "docker";

export interface ImageRef {
  transport: ImageTransport;
  // What follows the transport: "DIR[:TAG]", "FILE[:TAG]", "NAME", "//HOST/REPO:TAG".
  rest: string;
  // For oci: and oci-archive:, the path and the tag (the default tag when none is given).
  path?: string;
  tag?: string;
}

export const DEFAULT_TAG = "latest";
const TRANSPORTS: readonly ImageTransport[] = ["oci-archive", "oci", "containers-storage", "docker"];

// Whether `text` is written as an image reference (a transport prefix), not a container
// name, a checkpoint directory or an archive.
export function looksLikeImageRef(text: string): boolean {
  return TRANSPORTS.some((t) => text.startsWith(`${t}:`));
}

export function parseImageRef(text: string): ImageRef | { error: string } {
  const transport = TRANSPORTS.find((t) => text.startsWith(`${t}:`));
  if (transport === undefined) return { error: `"${text}" names no transport: write oci:DIR[:TAG], oci-archive:FILE, containers-storage:NAME or docker://HOST/REPO:TAG` };
  const rest = text.slice(transport.length + 1);
  if (rest === "") return { error: `"${text}" names nothing after ${transport}:` };
  if (/[\0\n]/.test(rest)) return { error: `"${text.replace(/[\0\n]/g, "?")}" holds a control character` };
  switch (transport) {
    case "oci":
    case "oci-archive": {
      // skopeo's own rule: the tag follows the last colon, when there is one.
      const colon = rest.lastIndexOf(":");
      const path = colon < 0 ? rest : rest.slice(0, colon);
      const tag = colon < 0 ? DEFAULT_TAG : rest.slice(colon + 1);
      if (path === "") return { error: `"${text}" names no ${transport === "oci" ? "directory" : "file"}` };
      if (!/^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/.test(tag)) return { error: `"${text}": "${tag}" is not a tag (letters, digits, _ . -, at most 128)` };
      return { transport, rest, path, tag };
    }
    case "docker":
      if (!rest.startsWith("//") || rest.length <= 2) return { error: `"${text}": a registry reference is docker://HOST/REPO:TAG` };
      return { transport, rest };
    case "containers-storage":
      return { transport, rest };
  }
}

export function formatImageRef(ref: ImageRef): string {
  return `${ref.transport}:${ref.rest}`;
}
