// Decides, before anything is written, whether a checkpoint archive entry may be
// extracted into a destination directory. Pure: the importer feeds it each tar header
// and refuses the whole archive on the first verdict that is not ok.
//
// Refused: absolute paths, `..` components, links whose target resolves outside the
// destination, device nodes, FIFOs and other special files, and metadata files larger
// than the limit (a manifest or spec of gigabytes is an attack, not a checkpoint).
//
// A checkpoint archive itself holds only directories and regular files (CRIU's images,
// the dumps, the manifest; a root filesystem travels as the inner rootfs-diff.tar): a
// link there is refused whatever it points at. Links that each look harmless can still
// chain out of the destination once a later entry is written through them (a/b -> ..,
// then a/b/c -> .., then a/b/c/x), so no link is ever extracted beside the images.
// Inside a root filesystem (`linksAllowed`) links are the container's own, extracted as
// they are by an extractor that never writes through one.
import { posix } from "node:path";
import { SIGNATURE_ENTRY, SIGNATURE_MAX_BYTES } from "../signing/signature.ts";

export interface ArchiveEntryHeader {
  path: string;
  // node-tar's entry types: File, OldFile, ContiguousFile, Directory, SymbolicLink, Link,
  // CharacterDevice, BlockDevice, FIFO, ...
  type: string;
  size: number;
  linkpath?: string | undefined;
}

export interface EntryLimits {
  // Files read into memory (manifest, spec.dump, config.dump, ...): at most this many bytes.
  metadataBytes: number;
  metadataFiles: ReadonlySet<string>;
  // Top-level files with a tighter bound of their own (the signature: a few hundred bytes).
  topLevelFileBytes?: ReadonlyMap<string, number>;
}

export const DEFAULT_ENTRY_LIMITS: EntryLimits = {
  metadataBytes: 16 * 1024 * 1024,
  metadataFiles: new Set(["manifest.json", "manifest.pb", "spec.dump", "config.dump", "stats-dump", "network.status", "deleted.files", "bundle-criu.conf"]),
  topLevelFileBytes: new Map([[SIGNATURE_ENTRY, SIGNATURE_MAX_BYTES]]),
};

export type EntryVerdict =
  | { ok: true }
  | { ok: false; attack: "absolute-path" | "parent-traversal" | "link-escape" | "link-in-checkpoint" | "special-file" | "oversized-metadata"; reason: string };

const REGULAR = new Set(["File", "OldFile", "ContiguousFile"]);

export interface EntryContext {
  // Inside a root filesystem an absolute symbolic link points into that same root (the
  // container resolves it there), so only relative links can climb out.
  rootedLinks?: boolean;
  // Links may be extracted at all (a root filesystem's); a checkpoint archive has none.
  linksAllowed?: boolean;
}

// An entry's path as it may appear in a message: control characters escaped (a name
// could carry terminal escapes) and cut short (a pax path can be a megabyte long).
export function shownPath(path: string, max = 200): string {
  const escaped = path.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`);
  return escaped.length <= max ? escaped : `${escaped.slice(0, max)}... (${path.length} characters)`;
}

export function checkArchiveEntry(header: ArchiveEntryHeader, limits: EntryLimits = DEFAULT_ENTRY_LIMITS, context: EntryContext = {}): EntryVerdict {
  // The reasons name the entry as it may be shown; the checks read it as it is.
  const entry = { ...header, path: shownPath(header.path), linkpath: header.linkpath === undefined ? undefined : shownPath(header.linkpath) };
  const path = header.path.replace(/\/+$/, "");
  if (path.startsWith("/") || /^[a-zA-Z]:/.test(path)) {
    return { ok: false, attack: "absolute-path", reason: `${entry.path}: an absolute path would be written outside the destination` };
  }
  if (path.split("/").includes("..")) {
    return { ok: false, attack: "parent-traversal", reason: `${entry.path}: a ".." component would climb out of the destination` };
  }
  if (entry.type === "SymbolicLink" || entry.type === "Link") {
    const target = header.linkpath ?? "";
    if (context.linksAllowed !== true) {
      return { ok: false, attack: "link-in-checkpoint", reason: `${entry.path}: a ${entry.type === "Link" ? "hard" : "symbolic"} link to ${entry.linkpath ?? ""}; a checkpoint archive holds only files and directories (links can chain out of the destination)` };
    }
    // A symbolic link resolves from its own directory; a hard link names a path in the archive.
    const resolved = entry.type === "SymbolicLink" ? posix.normalize(posix.join(posix.dirname(path), target)) : posix.normalize(target);
    const absoluteOk = context.rootedLinks === true && entry.type === "SymbolicLink";
    if ((target.startsWith("/") && !absoluteOk) || (!target.startsWith("/") && (resolved === ".." || resolved.startsWith("../")))) {
      return { ok: false, attack: "link-escape", reason: `${entry.path}: a ${entry.type === "Link" ? "hard" : "symbolic"} link to ${entry.linkpath ?? ""} resolves outside the destination` };
    }
    return { ok: true };
  }
  if (entry.type === "Directory") return { ok: true };
  if (!REGULAR.has(entry.type)) {
    return { ok: false, attack: "special-file", reason: `${entry.path}: a ${entry.type} entry has no place in a checkpoint (device nodes and FIFOs are refused)` };
  }
  const base = posix.basename(path);
  const ownBound = limits.topLevelFileBytes?.get(path.replace(/^(\.\/)+/, ""));
  const bound = ownBound ?? limits.metadataBytes;
  if ((ownBound !== undefined || limits.metadataFiles.has(base)) && entry.size > bound) {
    return { ok: false, attack: "oversized-metadata", reason: `${entry.path}: ${entry.size} bytes of metadata, more than the ${bound}-byte limit` };
  }
  return { ok: true };
}
