// The bind mounts of a spec, and their destinations with symbolic links resolved inside
// the root filesystem. Pure: the link lookup is given.
import { posix } from "node:path";
import { isBindMount, type OciSpec } from "../oci/spec.ts";
import { resolveInRoot, type ReadLinkInRoot } from "./path-in-root.ts";

export interface ResolvedDestination {
  from: string;
  to: string;
}

// The spec with every bind mount's destination free of symbolic links. crun 1.21 mounts
// over where a link leads but names the link's own path to CRIU, which then finds no
// mount there and fails the dump ("doesn't have a proper root mount"); runc resolves the
// destination first. Given the resolved path, both runtimes mount, dump and restore at
// the same place, and the link still leads there inside the container.
export function resolveBindDestinations(spec: OciSpec, readLink: ReadLinkInRoot): { spec: OciSpec; resolved: ResolvedDestination[] } {
  const resolved: ResolvedDestination[] = [];
  const mounts = spec.mounts?.map((mount) => {
    if (!isBindMount(mount)) return mount;
    const to = resolveInRoot(mount.destination, readLink);
    if (to === posix.resolve("/", mount.destination)) return mount;
    resolved.push({ from: mount.destination, to });
    return { ...mount, destination: to };
  });
  return { spec: mounts === undefined ? spec : { ...spec, mounts }, resolved };
}
