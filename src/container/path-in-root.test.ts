import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { CkptError } from "../errors.ts";
import { linkReaderIn, resolveInRoot } from "./path-in-root.ts";

// A root filesystem as a table of its symbolic links (path in root -> target).
function links(table: Record<string, string>) {
  return (path: string) => table[path] ?? null;
}

test("a path without links is only normalized", () => {
  assert.equal(resolveInRoot("/data/sub", links({})), "/data/sub");
  assert.equal(resolveInRoot("data//./sub/", links({})), "/data/sub");
  assert.equal(resolveInRoot("/", links({})), "/");
});

test("a relative link is followed from its own directory", () => {
  assert.equal(resolveInRoot("/srv/data", links({ "/srv/data": "real" })), "/srv/real");
  assert.equal(resolveInRoot("/srv/data", links({ "/srv/data": "../var/data" })), "/var/data");
});

test("an absolute link target is relative to the root filesystem, not the host", () => {
  assert.equal(resolveInRoot("/data", links({ "/data": "/etc/host-secret" })), "/etc/host-secret");
});

test("a link whose target climbs with .. stops at the root", () => {
  assert.equal(resolveInRoot("/a/data", links({ "/a/data": "../../../../../etc" })), "/etc");
  assert.equal(resolveInRoot("/data", links({ "/data": "/.." })), "/");
});

test(".. in the path itself cannot climb above the root", () => {
  assert.equal(resolveInRoot("/../../etc/passwd", links({})), "/etc/passwd");
  assert.equal(resolveInRoot("/a/../../b", links({})), "/b");
});

test("a link in the middle of the path is resolved and the rest kept", () => {
  assert.equal(resolveInRoot("/var/run/app/sock", links({ "/var/run": "../run" })), "/run/app/sock");
});

test("chains of links are followed to the end", () => {
  assert.equal(resolveInRoot("/a", links({ "/a": "b", "/b": "/c/d", "/c": "e" })), "/e/d");
});

test(".. after a link climbs from where the link led, not from the link", () => {
  assert.equal(resolveInRoot("/x/../c", links({ "/x": "/a/b" })), "/a/c");
});

test("a link to the root itself resolves to the root", () => {
  assert.equal(resolveInRoot("/r/etc", links({ "/r": "/" })), "/etc");
  assert.equal(resolveInRoot("/r", links({ "/r": "." })), "/");
});

test("a loop of links is refused instead of spinning", () => {
  assert.throws(() => resolveInRoot("/a/x", links({ "/a": "b", "/b": "/a" })), (e: unknown) => e instanceof CkptError && /too many levels of symbolic links/.test(e.message));
});

test("on a real directory tree, links to the host's /etc and above the root stay inside the root", async (t) => {
  const root = await mkdtemp(join(tmpdir(), "ckpt-path-in-root-"));
  t.after(() => rm(root, { recursive: true, force: true }));
  await mkdir(join(root, "srv/real"), { recursive: true });
  await writeFile(join(root, "srv/file"), "");
  await symlink("real", join(root, "srv/data"));
  await symlink("/etc", join(root, "etc-link"));
  await symlink("../../../../..", join(root, "srv/up"));
  await symlink("nowhere/target", join(root, "srv/dangling"));
  const read = linkReaderIn(root);
  assert.equal(resolveInRoot("/srv/data", read), "/srv/real");
  assert.equal(resolveInRoot("/etc-link/passwd", read), "/etc/passwd");
  assert.equal(resolveInRoot("/srv/up/etc", read), "/etc");
  assert.equal(resolveInRoot("/srv/dangling", read), "/srv/nowhere/target");
  assert.equal(resolveInRoot("/srv/file/below", read), "/srv/file/below", "ENOTDIR is nothing there, not an error");
  assert.equal(resolveInRoot("/missing/deeper", read), "/missing/deeper");
});
