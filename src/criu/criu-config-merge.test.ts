import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { parseCriuConfig } from "./criu-config.ts";
import { describeOverride, mergeCriuConfig, type OperatorCriuConfig, type OwnCriuOption } from "./criu-config-merge.ts";

const file = (label: string, path: string, text: string): OperatorCriuConfig => ({ label, path, options: parseCriuConfig(text, path).options });
const hostDefault = file("runc's default CRIU config", "/etc/criu/runc.conf", "ghost-limit 2M\ntcp-established\n");
const bundle = file("the bundle's CRIU config", "/b/criu.conf", "ghost-limit 8M\nlog-file mine.log\njoin-ns net:/run/netns/x\n");
const lines = (m: ReturnType<typeof mergeCriuConfig>) => m.options.map((o) => (o.value === null ? o.name : `${o.name} ${o.value}`));

describe("mergeCriuConfig", () => {
  test("keeps the operator's options, the default file's first (a later one wins), then ckpt's own", () => {
    const m = mergeCriuConfig([hostDefault, bundle], [{ name: "file-locks", value: null, why: "checkpoint --file-locks" }], "restore");
    assert.deepEqual(lines(m), ["ghost-limit 2M", "tcp-established", "ghost-limit 8M", "join-ns net:/run/netns/x", "file-locks"]);
    assert.equal(m.options.at(-1)!.origin, null, "ckpt's own option has no file");
    assert.deepEqual(m.options[2]!.origin, { file: "/b/criu.conf", line: 1 });
  });

  test("an option the runtime and ckpt set themselves (log-file) is dropped, and said so", () => {
    const m = mergeCriuConfig([bundle], [], "dump");
    assert.ok(!lines(m).some((l) => l.startsWith("log-file")));
    assert.equal(m.overrides.length, 1);
    assert.equal(m.overrides[0]!.option.name, "log-file");
    assert.match(describeOverride(m.overrides[0]!), /^ckpt's own setting overrides `log-file mine.log` from the bundle's CRIU config \(\/b\/criu.conf:2\): ckpt reads CRIU's log/);
  });

  test("leave-running in the operator's file would keep a container ckpt believes stopped: dropped", () => {
    const m = mergeCriuConfig([file("f", "/f", "leave-running\n")], [], "dump");
    assert.deepEqual(lines(m), []);
    assert.match(m.overrides[0]!.why, /ckpt decides whether the container keeps running/);
  });

  test("join-ns fails a dump: set aside for the dump, kept for the restore", () => {
    const dump = mergeCriuConfig([bundle], [], "dump");
    assert.ok(!lines(dump).some((l) => l.startsWith("join-ns")));
    assert.deepEqual(dump.setAside.map((s) => [s.option.value, s.label]), [["net:/run/netns/x", "the bundle's CRIU config"]]);
    assert.match(dump.setAside[0]!.why, /errno 56/);
    const restore = mergeCriuConfig([bundle], [], "restore");
    assert.ok(lines(restore).includes("join-ns net:/run/netns/x"));
    assert.deepEqual(restore.setAside, []);
  });

  test("ckpt's own setting replaces the operator's opposite one, with a warning", () => {
    const own: OwnCriuOption[] = [{ name: "file-locks", value: null, why: "the checkpoint holds 1 file lock" }];
    const m = mergeCriuConfig([file("f", "/f", "no-file-locks\n")], own, "restore");
    assert.deepEqual(lines(m), ["file-locks"]);
    assert.equal(describeOverride(m.overrides[0]!), "ckpt's `file-locks` overrides `no-file-locks` from f (/f:1): the checkpoint holds 1 file lock");
  });

  test("the same setting as ckpt's is written once, without a warning", () => {
    const m = mergeCriuConfig([file("f", "/f", "file-locks\n")], [{ name: "file-locks", value: null, why: "x" }], "dump");
    assert.deepEqual(lines(m), ["file-locks"]);
    assert.deepEqual(m.overrides, []);
  });

  test("an option ckpt's own rules out goes (tcp-established rules out tcp-close)", () => {
    const m = mergeCriuConfig([file("f", "/f", "tcp-close\n")], [{ name: "tcp-established", value: null, why: "its images hold 1 established TCP connection", excludes: ["tcp-close"] }], "restore");
    assert.deepEqual(lines(m), ["tcp-established"]);
    assert.match(describeOverride(m.overrides[0]!), /ckpt's `tcp-established` overrides `tcp-close` from f/);
  });

  test("ckpt's time namespace replaces the operator's, other namespaces stay", () => {
    const m = mergeCriuConfig([file("f", "/f", "join-ns time:/x\njoin-ns net:/y\n")], [{ name: "join-ns", value: "time:/proc/9/ns/time", why: "--time-mode" }], "restore");
    assert.deepEqual(lines(m), ["join-ns net:/y", "join-ns time:/proc/9/ns/time"]);
    assert.equal(m.overrides.length, 1);
    assert.equal(m.overrides[0]!.option.value, "time:/x");
  });

  test("what the runtime sends CRIU after a file read first is out of the operator's reach: dropped, and said so", () => {
    const m = mergeCriuConfig([file("f", "/f", "ext-unix-sk\nghost-limit 1M\n")], [], "dump", { runtime: "crun", names: ["ext-unix-sk"] });
    assert.deepEqual(lines(m), ["ghost-limit 1M"]);
    assert.equal(describeOverride(m.overrides[0]!), "crun's own setting overrides `ext-unix-sk` from f (/f:1): crun sends CRIU its own ext-unix-sk after this file is read");
  });

  test("no files and no options: an empty configuration", () => {
    assert.deepEqual(mergeCriuConfig([], [], "dump"), { options: [], overrides: [], setAside: [] });
  });
});
