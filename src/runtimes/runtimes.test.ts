import assert from "node:assert/strict";
import { test } from "node:test";
import { fixtureText } from "../../test/support/fixtures.ts";
import { classifyCgroups } from "../host/cgroups.ts";
import { crun } from "./crun.ts";
import { runc } from "./runc.ts";
import { execJoinsTimeNamespace } from "./runtime.ts";

test("runc 1.1.5 from Debian: checkpoint-capable, exec stays in the host's time namespace", () => {
  const info = runc.parseVersion(fixtureText("host/runc-1.1.5-version.txt"));
  assert.deepEqual(info, { version: "1.1.5+ds1", checkpointBuilt: true });
  assert.equal(execJoinsTimeNamespace(runc, info.version!), false);
});

test("runc exec joins the time namespace from 1.2.7 on, including 1.3.x", () => {
  assert.equal(execJoinsTimeNamespace(runc, "1.2.6"), false);
  assert.equal(execJoinsTimeNamespace(runc, "1.2.7"), true);
  assert.equal(execJoinsTimeNamespace(runc, "1.3.0"), true);
});

test("crun: Debian's 1.8.1 lacks +CRIU, the 1.21 setup-host builds has it", () => {
  assert.deepEqual(crun.parseVersion(fixtureText("host/crun-1.8.1-version.txt")), { version: "1.8.1", checkpointBuilt: false });
  assert.deepEqual(crun.parseVersion(fixtureText("host/crun-1.21-version.txt")), { version: "1.21", checkpointBuilt: true });
  assert.equal(execJoinsTimeNamespace(crun, "1.21"), true);
  assert.equal(execJoinsTimeNamespace(crun, "0.13"), false);
});

test("crun is blocked on hybrid cgroups only while cgroup2 holds controllers", () => {
  const hybridBlocked = classifyCgroups([{ mountPoint: "/sys/fs/cgroup/unified", fsType: "cgroup2", superOptions: ["rw"] }, { mountPoint: "/sys/fs/cgroup/cpu", fsType: "cgroup", superOptions: ["rw", "cpu"] }], ["hugetlb"]);
  assert.match(crun.hostBlockers(hybridBlocked)[0] ?? "", /hugetlb/);
  assert.deepEqual(runc.hostBlockers(hybridBlocked), []);
  assert.deepEqual(crun.hostBlockers({ ...hybridBlocked, unifiedControllers: [] }), []);
});
