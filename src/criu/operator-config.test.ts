import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { planContainerSpec } from "../container/container-spec.ts";
import { BUNDLE_CRIU_CONFIG_ANNOTATION, CRIU_CONFIG_ANNOTATION, type OciSpec } from "../oci/spec.ts";
import { NO_DUMP_OPTIONS } from "./dump-options.ts";
import { captureBundleCriuConfig, effectiveDumpOptions, foreignCriuConfigWarning, operatorConfigFiles, ownCriuOptions, writeCriuConfig, type CriuConfigRequest } from "./operator-config.ts";

const spec = (annotations?: Record<string, string>): OciSpec => ({ ociVersion: "1.0.2", process: { args: ["sh"], cwd: "/" }, root: { path: "rootfs" }, ...(annotations ? { annotations } : {}) });

describe("operatorConfigFiles", () => {
  const base = { bundleCopy: "/c/bundle-criu.conf", runtimeDefault: "/etc/criu/runc.conf", runtime: "runc" };
  test("no annotation in the bundle: the runtime's default file", () => {
    assert.deepEqual(operatorConfigFiles({ ...base, bundleAnnotation: undefined }).map((f) => f.path), ["/etc/criu/runc.conf"]);
  });
  test("the bundle's file after the default (its settings win), labelled with the name the bundle gave", () => {
    const files = operatorConfigFiles({ ...base, bundleAnnotation: "criu.conf" });
    assert.deepEqual(files.map((f) => f.path), ["/etc/criu/runc.conf", "/c/bundle-criu.conf"]);
    assert.equal(files[1]!.label, "the bundle's CRIU config (org.criu.config criu.conf)");
    assert.equal(files[0]!.label, "runc's default CRIU config");
  });
  test('an empty annotation turns the default file off, as runc does', () => {
    assert.deepEqual(operatorConfigFiles({ ...base, bundleAnnotation: "" }), []);
  });
  test("a named file that could not be copied, or no default file on this host", () => {
    assert.deepEqual(operatorConfigFiles({ ...base, bundleAnnotation: "gone.conf", bundleCopy: null }).map((f) => f.path), ["/etc/criu/runc.conf"]);
    assert.deepEqual(operatorConfigFiles({ ...base, bundleAnnotation: "criu.conf", runtimeDefault: null }).map((f) => f.path), ["/c/bundle-criu.conf"]);
  });
});

describe("ownCriuOptions and effectiveDumpOptions", () => {
  test("ckpt's own options, each ruling out its opposite, and the time namespace for a restore", () => {
    const own = ownCriuOptions({ tcpEstablished: true, fileLocks: true, tcpClose: false }, (o) => `why ${o}`, "/proc/7/ns/time");
    assert.deepEqual(own.map((o) => [o.name, o.value, o.excludes ?? []]), [
      ["file-locks", null, []],
      ["tcp-established", null, ["tcp-close"]],
      ["join-ns", "time:/proc/7/ns/time", []],
    ]);
    assert.equal(own[0]!.why, "why fileLocks");
    assert.deepEqual(ownCriuOptions({ tcpEstablished: true, fileLocks: false, tcpClose: true }, () => "").map((o) => [o.name, o.excludes]), [["tcp-close", ["tcp-established"]]]);
    assert.deepEqual(ownCriuOptions(NO_DUMP_OPTIONS, () => ""), []);
  });

  test("what a configuration sets, the last line winning", () => {
    assert.deepEqual(effectiveDumpOptions([{ name: "file-locks" }, { name: "tcp-close" }, { name: "no-file-locks" }, { name: "ghost-limit" }]), { tcpEstablished: false, fileLocks: false, tcpClose: true });
    assert.deepEqual(effectiveDumpOptions([]), NO_DUMP_OPTIONS);
  });
});

describe("foreignCriuConfigWarning", () => {
  test("a checkpoint another tool made may name a file of its host: never read, and said so", () => {
    assert.match(foreignCriuConfigWarning(spec({ [CRIU_CONFIG_ANNOTATION]: "/etc/secret.conf" }), "podman") ?? "", /names the CRIU configuration file \/etc\/secret.conf .* ckpt does not read/);
    assert.equal(foreignCriuConfigWarning(spec({ [CRIU_CONFIG_ANNOTATION]: "/old/host/criu.conf" }), "ckpt"), null, "ckpt's own checkpoints carry their copy");
    assert.equal(foreignCriuConfigWarning(spec({ [CRIU_CONFIG_ANNOTATION]: "" }), "criu-images"), null);
    assert.equal(foreignCriuConfigWarning(spec(), "podman"), null);
  });
});

describe("planContainerSpec keeps the bundle's org.criu.config value for the record", () => {
  const request = { sourceBundle: "/b", command: undefined, criuConfigPath: "/ckpt/criu.conf", timeNamespaceAvailable: false };
  test("ckpt's file in org.criu.config, the bundle's value beside it", () => {
    const planned = planContainerSpec(spec({ [CRIU_CONFIG_ANNOTATION]: "my.conf" }), request);
    assert.equal(planned.spec.annotations?.[CRIU_CONFIG_ANNOTATION], "/ckpt/criu.conf");
    assert.equal(planned.spec.annotations?.[BUNDLE_CRIU_CONFIG_ANNOTATION], "my.conf");
    assert.equal(planContainerSpec(spec({ [CRIU_CONFIG_ANNOTATION]: "" }), request).spec.annotations?.[BUNDLE_CRIU_CONFIG_ANNOTATION], "");
    assert.equal(planContainerSpec(spec(), request).spec.annotations?.[BUNDLE_CRIU_CONFIG_ANNOTATION], undefined);
  });
});

describe("captureBundleCriuConfig and writeCriuConfig (files in a temporary directory)", () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "ckpt-unit-criu-config-"));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test("at run: the file the bundle names, relative to the bundle, is copied", async () => {
    await writeFile(join(dir, "bundle.conf"), "file-locks\nlog-file mine.log\nroot a b\n");
    const copy = join(dir, "copy.conf");
    const captured = await captureBundleCriuConfig(spec({ [CRIU_CONFIG_ANNOTATION]: "bundle.conf" }), dir, copy);
    assert.equal(captured.annotation, "bundle.conf");
    assert.equal(await readFile(copy, "utf8"), "file-locks\nlog-file mine.log\nroot a b\n");
    assert.deepEqual(captured.warnings, [`${join(dir, "bundle.conf")}:3: CRIU would refuse \`root a b\` (more than one value (quote a value that holds white space)); ckpt leaves it out`]);
  });

  test("at run: a file that cannot be read is left out, with a warning; an old copy goes", async () => {
    const copy = join(dir, "copy2.conf");
    await writeFile(copy, "stale\n");
    const captured = await captureBundleCriuConfig(spec({ [CRIU_CONFIG_ANNOTATION]: "missing.conf" }), dir, copy);
    assert.match(captured.warnings[0] ?? "", /missing.conf, which cannot be read \(ENOENT\)/);
    await assert.rejects(readFile(copy), /ENOENT/);
    assert.deepEqual((await captureBundleCriuConfig(spec(), dir, copy)).warnings, []);
  });

  const request = (over: Partial<CriuConfigRequest>): CriuConfigRequest => ({
    path: join(dir, "criu.conf"),
    phase: "dump",
    runtime: "runc",
    runtimeConfig: { via: "annotation", defaults: [join(dir, "absent.conf"), join(dir, "default.conf")], runtimeSets: [] },
    bundleAnnotation: "bundle.conf",
    bundleCopy: join(dir, "bundle-copy.conf"),
    own: [],
    ...over,
  });

  test("merges this host's default and the bundle's copy with ckpt's own, writes it, and reports overrides", async () => {
    await writeFile(join(dir, "default.conf"), "ghost-limit 2M\nno-file-locks\n");
    await writeFile(join(dir, "bundle-copy.conf"), "tcp-close\nlog-file mine.log\njoin-ns net:/x\n");
    const written = await writeCriuConfig(request({ own: ownCriuOptions({ ...NO_DUMP_OPTIONS, fileLocks: true }, () => "checkpoint --file-locks") }));
    assert.equal(await readFile(join(dir, "criu.conf"), "utf8"), "ghost-limit 2M\ntcp-close\nfile-locks\n");
    assert.deepEqual(written.effective, { tcpEstablished: false, fileLocks: true, tcpClose: true });
    assert.deepEqual(written.report.files.map((f) => f.path), [join(dir, "default.conf"), join(dir, "bundle-copy.conf")]);
    assert.equal(written.report.readByRuntime, true);
    assert.deepEqual(written.env, {}, "named by the annotation, not the environment");
    assert.deepEqual(written.warnings, written.report.overrides);
    assert.equal(written.warnings.length, 2);
    assert.match(written.warnings[0]!, /ckpt's `file-locks` overrides `no-file-locks` from runc's default CRIU config/);
    assert.match(written.warnings[1]!, /ckpt's own setting overrides `log-file mine.log`/);
    assert.match(written.report.setAside[0] ?? "", /join-ns net:\/x/);
  });

  test("a runtime that lets CRIU read no file: ckpt's own options only, and a warning that the operator's are not in effect", async () => {
    const written = await writeCriuConfig(request({ runtime: "crun", runtimeConfig: null, own: ownCriuOptions({ ...NO_DUMP_OPTIONS, tcpEstablished: true }, () => "x") }));
    assert.equal(await readFile(join(dir, "criu.conf"), "utf8"), "tcp-established\n");
    assert.deepEqual(written.effective, { tcpEstablished: true, fileLocks: false, tcpClose: false });
    assert.equal(written.report.readByRuntime, false);
    assert.deepEqual(written.env, {});
    assert.match(written.warnings.at(-1) ?? "", /^crun at this version lets CRIU read no configuration file: the options in .*bundle-copy.conf are not in effect/);
  });

  test("a runtime whose CRIU reads the file through CRIU_CONFIG_FILE (crun 1.21): the environment names it, and what the runtime sets itself is said to be out of effect", async () => {
    await writeFile(join(dir, "bundle-copy.conf"), "file-locks\nshell-job\ntcp-close\n");
    const written = await writeCriuConfig(request({ runtime: "crun", runtimeConfig: { via: "environment", defaults: [], runtimeSets: ["shell-job"] } }));
    assert.deepEqual(written.env, { CRIU_CONFIG_FILE: join(dir, "criu.conf") });
    assert.equal(await readFile(join(dir, "criu.conf"), "utf8"), "file-locks\ntcp-close\n");
    assert.deepEqual(written.effective, { tcpEstablished: false, fileLocks: true, tcpClose: true }, "file-locks goes to crun as a flag too");
    assert.equal(written.report.via, "environment");
    assert.match(written.warnings[0] ?? "", /^crun's own setting overrides `shell-job` from the bundle's CRIU config .*: crun sends CRIU its own shell-job after this file is read/);
  });
});
