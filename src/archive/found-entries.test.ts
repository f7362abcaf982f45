import assert from "node:assert/strict";
import { test } from "node:test";
import { compareDigests, compareFound } from "./read-archive.ts";
import { FoundEntries } from "./found-entries.ts";

const sha = (c: string) => c.repeat(64);

test("found entries keep each file's size and digest across growth, directories and links apart", () => {
  const found = new FoundEntries();
  found.addDirectory("checkpoint");
  found.addLink("checkpoint/l");
  for (let i = 0; i < 1000; i++) found.setFile(found.addFile(`checkpoint/f${i}`), i, (i % 16).toString(16).repeat(64));
  assert.equal(found.fileCount, 1000);
  assert.deepEqual(found.digest("checkpoint/f991"), { size: 991, sha256: "f".repeat(64) });
  assert.deepEqual(found.digest("checkpoint/f17"), { size: 17, sha256: "1".repeat(64) });
  assert.equal(found.digest("checkpoint"), null);
  assert.deepEqual([found.kind("checkpoint"), found.kind("checkpoint/l"), found.kind("checkpoint/f0"), found.kind("nope")], ["directory", "link", "file", undefined]);
  assert.equal([...found.files()].length, 1000, "only files are listed");
  found.addDirectory("checkpoint/f0");
  assert.equal(found.kind("checkpoint/f0"), "file", "a later directory entry does not hide a file");
});

test("compareFound against a manifest: missing, size, mismatch and unlisted files; the manifest itself is not unlisted", () => {
  const listed = [
    { path: "a", size: 1, sha256: sha("a") },
    { path: "b", size: 2, sha256: sha("b") },
    { path: "c", size: 3, sha256: sha("c") },
    { path: "gone", size: 4, sha256: sha("d") },
  ];
  const found = [
    { path: "a", size: 1, sha256: sha("a") },
    { path: "b", size: 5, sha256: sha("b") },
    { path: "c", size: 3, sha256: sha("e") },
    { path: "extra", size: 1, sha256: sha("f") },
    { path: "manifest.json", size: 9, sha256: sha("0") },
  ];
  const problems = compareFound(listed, FoundEntries.of(found)).map((p) => `${p.problem} ${p.path}`);
  assert.deepEqual(problems, ["size b", "mismatch c", "missing gone", "unlisted extra"]);
  assert.deepEqual(compareDigests(listed, found).map((p) => `${p.problem} ${p.path}`), problems);
});
