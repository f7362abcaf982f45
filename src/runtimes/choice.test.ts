import assert from "node:assert/strict";
import { chmod, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { fixtureText } from "../../test/support/fixtures.ts";
import { CkptError, ExitCode } from "../errors.ts";
import { configuredPathOf, configuredRuntimes, planRuntimeChoice, runtimeChosen, type RuntimeSelection } from "./choice.ts";
import { probeRuntimes, runtimeKindOf } from "./index.ts";

const none: RuntimeSelection = { runtime: "runc", runtimeGiven: false, runtimePath: "", runtimes: {} };
const two: RuntimeSelection = { ...none, runtimes: { "runc-1.3": "/opt/runc-1.3/sbin/runc", crun: "/opt/crun/bin/crun" } };

test("a kind without a configured binary is looked up on PATH and must be that kind", () => {
  assert.deepEqual(planRuntimeChoice(none), { path: undefined, mustBe: "runc", asked: "runc" });
  assert.equal(runtimeChosen(none), false);
});

test("a configured name gives its binary; a kind's own name in runtimes must still be that kind", () => {
  assert.deepEqual(planRuntimeChoice({ ...two, runtime: "runc-1.3", runtimeGiven: true }), { path: "/opt/runc-1.3/sbin/runc", mustBe: null, asked: "runtime runc-1.3 (/opt/runc-1.3/sbin/runc)" });
  assert.deepEqual(planRuntimeChoice({ ...two, runtime: "crun", runtimeGiven: true }), { path: "/opt/crun/bin/crun", mustBe: "crun", asked: "runtime crun (/opt/crun/bin/crun)" });
  assert.equal(configuredPathOf("crun", two.runtimes), "/opt/crun/bin/crun");
  assert.equal(configuredPathOf("runc", two.runtimes), undefined);
});

test("--runtime-path wins over runtimes; --runtime then only says which kind it must be", () => {
  assert.deepEqual(planRuntimeChoice({ ...two, runtimePath: "/x/runc" }), { path: "/x/runc", mustBe: null, asked: "--runtime-path /x/runc" });
  assert.deepEqual(planRuntimeChoice({ ...two, runtime: "crun", runtimeGiven: true, runtimePath: "/x/runc" }).mustBe, "crun");
  assert.equal(runtimeChosen({ ...none, runtimePath: "/x/runc" }), true);
});

test("an unknown name is a usage error listing what is configured", () => {
  assert.throws(() => planRuntimeChoice({ ...two, runtime: "runc-1.4", runtimeGiven: true }), (e: CkptError) => e.exitCode === ExitCode.usage && /unknown runtime "runc-1\.4"/.test(e.message) && /runc, crun, runc-1\.3/.test(e.hint ?? ""));
  // A key inherited from Object.prototype is no configured runtime.
  assert.throws(() => planRuntimeChoice({ ...none, runtime: "constructor", runtimeGiven: true }), /unknown runtime/);
});

test("the kind is read from --version output, never from the file name", () => {
  assert.equal(runtimeKindOf(fixtureText("host/runc-1.1.5-version.txt")), "runc");
  assert.equal(runtimeKindOf(fixtureText("host/crun-1.21-version.txt")), "crun");
  assert.equal(runtimeKindOf("true (GNU coreutils) 9.1"), null);
});

test("a binary whose --version names both runc and crun is neither kind", () => {
  const both = `${fixtureText("host/crun-1.21-version.txt")}\n${fixtureText("host/runc-1.1.5-version.txt")}`;
  assert.equal(runtimeKindOf(both), null);
});

test("doctor's list: both kinds, every configured name, and --runtime-path", () => {
  assert.deepEqual(configuredRuntimes(two), [{ name: "runc", path: undefined }, { name: "crun", path: "/opt/crun/bin/crun" }, { name: "runc-1.3", path: "/opt/runc-1.3/sbin/runc" }]);
  assert.deepEqual(configuredRuntimes({ ...none, runtimePath: "/x/runc" }).at(-1), { name: "--runtime-path", path: "/x/runc" });
});

// {"runtimes": {"runc": "/usr/local/bin/crun"}}: a restore without --runtime takes the
// entry named runc as runc's binary (configuredPathOf) and ran crun with runc's adapter,
// failing inside CRIU; doctor listed it as "runc: crun 1.21 ... ok".
test("doctor: a runtimes entry named runc whose binary is crun is unusable, named so", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "ckpt-kinds-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const fakeCrun = join(dir, "crun");
  await writeFile(fakeCrun, `#!/bin/sh\ncat <<'END'\n${fixtureText("host/crun-1.21-version.txt")}\nEND\n`);
  await chmod(fakeCrun, 0o755);
  const probed = await probeRuntimes([{ name: "runc", path: fakeCrun }, { name: "crun-own", path: fakeCrun }]);
  assert.deepEqual(probed.unusable, [{ name: "runc", path: fakeCrun, reason: "it is crun, and an entry named runc must be runc" }]);
  assert.deepEqual(probed.installed.map((i) => [i.name, i.label]), [["crun", "crun-own"]]);
});
