// Resolves a path inside a root filesystem the way filepath-securejoin (and so runc) does:
// symbolic links are followed, but the root stays the root. An absolute link target
// starts again at the root, and `..` never climbs above it. The pure resolver takes the
// link lookup as a function; `linkReaderIn` is that lookup on the real filesystem.
import { readlinkSync } from "node:fs";
import { join } from "node:path";
import { CkptError, ExitCode } from "../errors.ts";

// The target of the symbolic link at `pathInRoot` (absolute, relative to the root), or
// null when nothing there is a symbolic link (a directory, a file, nothing at all).
export type ReadLinkInRoot = (pathInRoot: string) => string | null;

// Linux gives up after 40 links in one lookup (ELOOP); securejoin after 255.
export const MAX_LINKS_FOLLOWED = 40;

// `path` with every symbolic link resolved inside the root, as an absolute path relative
// to the root ("/" for the root itself). Components that do not exist are kept as they are.
export function resolveInRoot(path: string, readLink: ReadLinkInRoot): string {
  const resolved: string[] = [];
  let pending = components(path);
  let followed = 0;
  while (pending.length > 0) {
    const [part, ...rest] = pending as [string, ...string[]];
    pending = rest;
    if (part === "..") {
      resolved.pop();
      continue;
    }
    const candidate = `/${[...resolved, part].join("/")}`;
    const target = readLink(candidate);
    if (target === null) {
      resolved.push(part);
      continue;
    }
    if (++followed > MAX_LINKS_FOLLOWED) {
      throw new CkptError(ExitCode.usage, `too many levels of symbolic links resolving ${path} inside the root filesystem`, { hint: "a mount destination must not lead into a loop of symbolic links" });
    }
    // An absolute target starts again at the root; a relative one from the link's directory.
    if (target.startsWith("/")) resolved.length = 0;
    pending = [...components(target), ...pending];
  }
  return `/${resolved.join("/")}`;
}

function components(path: string): string[] {
  return path.split("/").filter((c) => c !== "" && c !== ".");
}

// The link lookup on the real filesystem below `root`. Every component before the last of
// what the resolver asks is already free of links, so the host follows none.
export function linkReaderIn(root: string): ReadLinkInRoot {
  return (pathInRoot) => {
    try {
      return readlinkSync(join(root, pathInRoot));
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      // EINVAL: not a link; ENOENT, ENOTDIR: nothing there (yet).
      if (code === "EINVAL" || code === "ENOENT" || code === "ENOTDIR") return null;
      throw error;
    }
  };
}
