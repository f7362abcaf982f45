import assert from "node:assert/strict";
import { test } from "node:test";
import { fixtureText } from "../../test/support/fixtures.ts";
import { parseCgroupMounts } from "../host/cgroups.ts";
import { containerCgroupDir } from "./container-tasks.ts";

const mounts = parseCgroupMounts(fixtureText("proc/mountinfo-cgroups.txt"));
const runcContainer = ["10:hugetlb:/abc", "9:name=systemd:/abc", "8:pids:/abc", "6:freezer:/abc", "4:memory:/abc", "1:cpu:/abc", "0::/abc"].join("\n");

test("a runc container on this hybrid host: its freezer cgroup lists all its tasks", () => {
  assert.equal(containerCgroupDir(runcContainer, mounts), "/sys/fs/cgroup/freezer/abc");
});

test("without a freezer hierarchy the pids one is used; on a cgroup2-only host the unified path", () => {
  const noFreezer = mounts.filter((m) => !m.superOptions.includes("freezer"));
  assert.equal(containerCgroupDir(runcContainer, noFreezer), "/sys/fs/cgroup/pids/abc");
  const unifiedOnly = [{ mountPoint: "/sys/fs/cgroup", fsType: "cgroup2" as const, superOptions: ["rw"] }];
  assert.equal(containerCgroupDir("0::/system.slice/ctr", unifiedOnly), "/sys/fs/cgroup/system.slice/ctr");
  assert.equal(containerCgroupDir("0::/x", []), null);
});
