// The adapters' version rules, at every boundary: what each runtime version does about
// time namespaces (the one-clock facts doctor prints and restore relies on).
import assert from "node:assert/strict";
import { test } from "node:test";
import { crun } from "./crun.ts";
import { runc } from "./runc.ts";
import { createsTimeNamespace, execJoinsTimeNamespace, oneClockKeeper, type RuntimeAdapter } from "./runtime.ts";

// [version, expected] around each boundary, with the distributions' spellings.
function rule(name: string, adapter: RuntimeAdapter, fn: (a: RuntimeAdapter, v: string) => unknown, cases: [string, unknown][]) {
  test(`${adapter.name}: ${name}`, () => {
    assert.deepEqual(cases.map(([v]) => [v, fn(adapter, v)]), cases);
  });
}

rule("exec joins a restored container's time namespace from 1.2.7 (and every 1.3), not before", runc, execJoinsTimeNamespace, [
  ["1.1.5+ds1", false], ["1.1.15", false], ["1.2.0", false], ["1.2.6", false], ["1.2.7", true], ["1.2.7+ds1", true], ["1.2.7-rc.1", false], ["1.3.0-rc.1", true], ["1.3.0", true], ["1.3.6", true], ["1.4.0", true],
]);
rule("run creates a time namespace from 1.2.0 (1.1.x rejects {type: time})", runc, createsTimeNamespace, [
  ["1.1.5+ds1", false], ["1.1.15", false], ["1.2.0-rc.1", false], ["1.2.0", true], ["1.3.6", true],
]);
rule("exec joins the time namespace from 0.14", crun, execJoinsTimeNamespace, [["0.13", false], ["0.14", true], ["1.8.1", true], ["1.21", true]]);
rule("run creates a time namespace from 0.14", crun, createsTimeNamespace, [["0.13", false], ["0.14", true], ["1.21", true]]);
rule("who keeps exec'd processes on PID 1's clock", runc, oneClockKeeper, [["1.1.5+ds1", "ckpt"], ["1.2.6", "ckpt"], ["1.2.7", "runtime"], ["1.3.6", "runtime"]]);
rule("who keeps exec'd processes on PID 1's clock", crun, oneClockKeeper, [["0.13", "ckpt"], ["1.21", "runtime"]]);

test("crun reads ckpt's CRIU configuration through the annotation from 1.26, through CRIU_CONFIG_FILE before", () => {
  assert.equal(crun.criuConfig("1.25")?.via, "environment");
  assert.deepEqual(crun.criuConfig("1.25")?.runtimeSets, ["ext-unix-sk", "shell-job", "orphan-pts-master", "manage-cgroups"]);
  assert.equal(crun.criuConfig("1.26")?.via, "annotation");
  assert.deepEqual(crun.criuConfig("1.26")?.defaults, ["/etc/criu/crun.conf", "/etc/criu/runc.conf"]);
  // runc has named /etc/criu/runc.conf (or the annotation's file) on every version.
  assert.deepEqual([runc.criuConfig("1.1.5")?.via, runc.criuConfig("1.3.6")?.defaults], ["annotation", ["/etc/criu/runc.conf"]]);
});

test("how a restore is put into an existing time namespace, and who can restore lazily", () => {
  assert.deepEqual([runc.restoreJoinsTimeNamespaceVia, runc.lazyPages], ["criu-config", true]);
  assert.deepEqual([crun.restoreJoinsTimeNamespaceVia, crun.lazyPages], ["spec-namespace-path", false]);
});
