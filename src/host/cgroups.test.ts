import assert from "node:assert/strict";
import { test } from "node:test";
import { fixtureText } from "../../test/support/fixtures.ts";
import { classifyCgroups, parseCgroupMounts } from "./cgroups.ts";

const hybrid = parseCgroupMounts(fixtureText("host/mountinfo-hybrid.txt"));

test("parseCgroupMounts finds the v1 hierarchies and the cgroup2 mount, not the tmpfs", () => {
  assert.equal(hybrid.length, 11);
  assert.deepEqual(hybrid.find((m) => m.fsType === "cgroup2")?.mountPoint, "/sys/fs/cgroup/unified");
});

test("classifyCgroups: hybrid host whose cgroup2 still holds hugetlb", () => {
  const v1Only = hybrid.filter((m) => m.mountPoint !== "/sys/fs/cgroup/hugetlb");
  const facts = classifyCgroups(v1Only, ["hugetlb"]);
  assert.equal(facts.mode, "hybrid");
  assert.deepEqual(facts.unifiedControllers, ["hugetlb"]);
  assert.ok(!facts.v1Controllers.includes("hugetlb"));
  assert.ok(!facts.v1Controllers.includes("name=systemd"), "named hierarchies are not controllers");
});

test("classifyCgroups: after setup-host bound hugetlb to v1", () => {
  const facts = classifyCgroups(hybrid, []);
  assert.equal(facts.mode, "hybrid");
  assert.deepEqual(facts.v1Controllers, ["blkio", "cpu", "cpuacct", "cpuset", "devices", "freezer", "hugetlb", "memory", "pids"]);
});

test("classifyCgroups: unified, legacy and none", () => {
  const unified = parseCgroupMounts("30 23 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n");
  assert.equal(classifyCgroups(unified, ["cpu", "memory"]).mode, "unified");
  assert.equal(classifyCgroups(hybrid.filter((m) => m.fsType === "cgroup"), []).mode, "legacy");
  assert.equal(classifyCgroups([], []).mode, "none");
});

test("parseCgroupMounts unescapes octal escapes in mount points", () => {
  const [m] = parseCgroupMounts("50 31 0:40 / /sys/fs/cgroup/my\\040dir rw - cgroup cgroup rw,pids\n");
  assert.equal(m?.mountPoint, "/sys/fs/cgroup/my dir");
});
