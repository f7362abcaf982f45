// Each attack an archive can carry has a test named after it.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { checkArchiveEntry, DEFAULT_ENTRY_LIMITS, type EntryVerdict } from "./entry-safety.ts";

const attack = (v: EntryVerdict) => (v.ok ? "ok" : v.attack);

describe("archive entry safety", () => {
  test("the entries of a real checkpoint pass: images, manifest, spec, nested rootfs diff", () => {
    for (const path of ["checkpoint/", "checkpoint/pages-1.img", "checkpoint/inventory.img", "manifest.json", "spec.dump", "config.dump", "rootfs-diff.tar", "deleted.files", "stats-dump"]) {
      assert.equal(attack(checkArchiveEntry({ path, type: path.endsWith("/") ? "Directory" : "File", size: 4096 })), "ok", path);
    }
  });

  test("absolute-path: /etc/cron.d/x is refused", () => {
    assert.equal(attack(checkArchiveEntry({ path: "/etc/cron.d/x", type: "File", size: 10 })), "absolute-path");
  });

  test("parent-traversal (zip slip): checkpoint/../../root/.ssh/authorized_keys is refused", () => {
    assert.equal(attack(checkArchiveEntry({ path: "checkpoint/../../root/.ssh/authorized_keys", type: "File", size: 10 })), "parent-traversal");
    assert.equal(attack(checkArchiveEntry({ path: "..", type: "Directory", size: 0 })), "parent-traversal");
  });

  test("link-in-checkpoint: a checkpoint archive holds no link at all, not even one pointing inside (a chain of such links climbs out: a/b -> .., a/b/c -> .., a/b/c/x)", () => {
    for (const linkpath of ["/etc/shadow", "../../etc", "../spec.dump", ".."]) {
      assert.equal(attack(checkArchiveEntry({ path: "checkpoint/x", type: "SymbolicLink", size: 0, linkpath })), "link-in-checkpoint", linkpath);
    }
    assert.equal(attack(checkArchiveEntry({ path: "checkpoint/y", type: "Link", size: 0, linkpath: "checkpoint/x" })), "link-in-checkpoint");
  });

  test("link-escape where links are allowed (a tar of files inside the checkpoint): links that resolve outside, absolute or relative, are refused; inside ones pass", () => {
    const links = { linksAllowed: true };
    assert.equal(attack(checkArchiveEntry({ path: "checkpoint/x", type: "SymbolicLink", size: 0, linkpath: "/etc/shadow" }, DEFAULT_ENTRY_LIMITS, links)), "link-escape");
    assert.equal(attack(checkArchiveEntry({ path: "checkpoint/x", type: "SymbolicLink", size: 0, linkpath: "../../etc" }, DEFAULT_ENTRY_LIMITS, links)), "link-escape");
    assert.equal(attack(checkArchiveEntry({ path: "checkpoint/x", type: "SymbolicLink", size: 0, linkpath: "../spec.dump" }, DEFAULT_ENTRY_LIMITS, links)), "ok");
    assert.equal(attack(checkArchiveEntry({ path: "checkpoint/x", type: "Link", size: 0, linkpath: "../etc/passwd" }, DEFAULT_ENTRY_LIMITS, links)), "link-escape");
    assert.equal(attack(checkArchiveEntry({ path: "checkpoint/x", type: "Link", size: 0, linkpath: "/etc/passwd" }, DEFAULT_ENTRY_LIMITS, links)), "link-escape");
    assert.equal(attack(checkArchiveEntry({ path: "checkpoint/y", type: "Link", size: 0, linkpath: "checkpoint/x" }, DEFAULT_ENTRY_LIMITS, links)), "ok");
  });

  test("special-file: device nodes and FIFOs are refused", () => {
    for (const type of ["CharacterDevice", "BlockDevice", "FIFO"]) {
      assert.equal(attack(checkArchiveEntry({ path: "checkpoint/dev", type, size: 0 })), "special-file", type);
    }
  });

  test("oversized-metadata: a manifest beyond the limit is refused, a large memory image is not", () => {
    const limits = { metadataBytes: 1024, metadataFiles: new Set(["manifest.json"]) };
    assert.equal(attack(checkArchiveEntry({ path: "manifest.json", type: "File", size: 1025 }, limits)), "oversized-metadata");
    assert.equal(attack(checkArchiveEntry({ path: "checkpoint/pages-1.img", type: "File", size: 2 ** 33 }, limits)), "ok");
  });

  test("oversized-metadata: a signature entry (manifest.sig) of more than 4 KiB is refused; a small one passes; a file of that name inside a directory is not the signature", () => {
    assert.equal(attack(checkArchiveEntry({ path: "manifest.sig", type: "File", size: 600 })), "ok");
    assert.equal(attack(checkArchiveEntry({ path: "./manifest.sig", type: "File", size: 4097 })), "oversized-metadata");
    assert.equal(attack(checkArchiveEntry({ path: "manifest.sig", type: "File", size: 2 ** 30 })), "oversized-metadata");
    assert.equal(attack(checkArchiveEntry({ path: "checkpoint/manifest.sig", type: "File", size: 8192 })), "ok");
  });
});

test("link-escape inside a root filesystem: absolute symbolic links point into that root and pass; relative ones that climb out do not", () => {
  const rooted = { rootedLinks: true, linksAllowed: true };
  assert.equal(checkArchiveEntry({ path: "bin/sh", type: "SymbolicLink", size: 0, linkpath: "/bin/busybox" }, DEFAULT_ENTRY_LIMITS, rooted).ok, true);
  const climb = checkArchiveEntry({ path: "etc/passwd", type: "SymbolicLink", size: 0, linkpath: "../../../etc/shadow" }, DEFAULT_ENTRY_LIMITS, rooted);
  assert.equal(climb.ok ? "ok" : climb.attack, "link-escape");
  const hard = checkArchiveEntry({ path: "x", type: "Link", size: 0, linkpath: "/etc/shadow" }, DEFAULT_ENTRY_LIMITS, rooted);
  assert.equal(hard.ok ? "ok" : hard.attack, "link-escape", "a hard link to an absolute path is never rooted");
});

test("a path in a message has its control characters escaped and is cut short (terminal escapes, megabyte pax paths)", async () => {
  const { shownPath } = await import("./entry-safety.ts");
  assert.equal(shownPath("checkpoint/pages-1.img"), "checkpoint/pages-1.img");
  assert.equal(shownPath("a\u001b]0;owned\u0007b"), "a\\x1b]0;owned\\x07b");
  const long = shownPath("x".repeat(1_000_000));
  assert.ok(long.length < 300 && long.endsWith("(1000000 characters)"), long.slice(-40));
  const v = checkArchiveEntry({ path: `/${"y".repeat(5000)}`, type: "File", size: 1 });
  assert.ok(!v.ok && v.reason.length < 400);
});
