// Migration between two "hosts" on one machine: each its own ckpt state root, the target
// inside a network namespace of its own (`ip netns exec`). The archive streams from the
// checkpoint into the target's restore; no network is needed for that path.
import assert from "node:assert/strict";
import { readlink, writeFile, chmod } from "node:fs/promises";
import { before, describe, test } from "node:test";
import { execa } from "execa";
import { createBusyboxBundle } from "../harness/bundle.ts";
import { ckptBin } from "../harness/cli.ts";
import { CkptRoot } from "../harness/ckpt-root.ts";
import { requireRealHost } from "../harness/prerequisites.ts";
import { waitFor } from "../harness/reports.ts";
import { removeStaleSandboxes, Sandbox } from "../harness/sandbox.ts";
import { testResourcePrefix } from "../harness/owner.ts";

interface PsEntry {
  name: string;
  status: string;
  pid: number | null;
}

async function twoHosts(t: Parameters<typeof Sandbox.create>[0]) {
  const sandbox = await Sandbox.create(t);
  const source = new CkptRoot(sandbox, "host-a");
  const target = new CkptRoot(sandbox, "host-b");
  const netns = `${testResourcePrefix}${process.pid}-b`.slice(0, 30);
  await execa("ip", ["netns", "add", netns]);
  sandbox.defer(async () => void (await execa("ip", ["netns", "delete", netns], { reject: false })));
  // The hosts are joined by a veth pair on 192.0.2.0/24 (reserved for documentation and
  // tests; nothing leaves the machine). Deleting the namespace deletes both ends.
  const veth = `ck${process.pid % 100000}`;
  await execa("ip", ["-n", netns, "link", "set", "lo", "up"]);
  await execa("ip", ["link", "add", `${veth}a`, "type", "veth", "peer", "name", `${veth}b`, "netns", netns]);
  await execa("ip", ["addr", "add", "192.0.2.1/24", "dev", `${veth}a`]);
  await execa("ip", ["link", "set", `${veth}a`, "up"]);
  await execa("ip", ["-n", netns, "addr", "add", "192.0.2.2/24", "dev", `${veth}b`]);
  await execa("ip", ["-n", netns, "link", "set", `${veth}b`, "up"]);
  // nsenter --net, not `ip netns exec`: that one remounts /sys, hiding the cgroup mounts
  // runc needs.
  return { sandbox, source, target, toTarget: `nsenter --net=/run/netns/${netns} ${ckptBin} --root ${target.root}` };
}

describe("ckpt migrate", () => {
  before(() => removeStaleSandboxes());

  test("a memory holder moves to the other host's namespace: memory intact, one clock there, downtime reported, nothing left at the source", async (t) => {
    if (!(await requireRealHost(t, "runc"))) return;
    const { sandbox, source, target, toTarget } = await twoHosts(t);
    const bundle = await createBusyboxBundle(sandbox.path("bundle"), { args: ["/usr/bin/memory-holder", "32"] });
    await source.ok(["--runtime", "runc", "run", "-d", "--name", "mem", bundle]);
    const checksum = await waitFor("the holder's checksum", async () => /ready mib=32 checksum=([0-9a-f]+)/.exec(String((await source.ok(["logs", "mem"])).stdout))?.[1]);

    const moved = await source.json<{ downtimeNs: number; durationNs: number; restored: { name: string; pid: number } }>(["migrate", "mem", "--to", toTarget]);
    assert.equal(moved.restored.name, "mem");
    assert.ok(moved.downtimeNs > 0 && moved.downtimeNs < moved.durationNs, `downtime ${moved.downtimeNs} ns within the ${moved.durationNs} ns migration`);
    assert.deepEqual(await source.json<PsEntry[]>(["ps", "-a"]), [], "the source is removed once the target runs it");
    const there = (await target.json<PsEntry[]>(["ps"])).find((e) => e.name === "mem");
    assert.equal(there?.status, "running");
    assert.equal(there?.pid, moved.restored.pid);

    await target.ok(["exec", "mem", "--", "kill", "-USR1", "1"]);
    const verdict = await waitFor("the holder's verdict", async () => /verify (ok|MISMATCH) checksum=([0-9a-f]+)/.exec(String((await target.ok(["logs", "mem"])).stdout)) ?? undefined);
    assert.deepEqual([verdict[1], verdict[2]], ["ok", checksum]);
    // One clock on the target: an exec'd process shares PID 1's time namespace.
    const exec = String((await target.ok(["exec", "mem", "--", "readlink", "/proc/self/ns/time"])).stdout).trim();
    assert.equal(exec, await readlink(`/proc/${there!.pid}/ns/time`));
  });

  test("a target that fails leaves the container running at the source (exit 10), with the target's words", async (t) => {
    if (!(await requireRealHost(t, "runc"))) return;
    const { sandbox, source } = await twoHosts(t);
    const bundle = await createBusyboxBundle(sandbox.path("bundle"), { args: ["/bin/sh", "-c", "i=0; while :; do i=$((i+1)); echo $i; sleep 0.2; done"] });
    await source.ok(["--runtime", "runc", "run", "-d", "--name", "app", bundle]);
    const failing = sandbox.path("full-host");
    await writeFile(failing, "#!/bin/sh\ncat > /dev/null\necho 'no space left on the target' >&2\nexit 7\n");
    await chmod(failing, 0o755);
    const r = await source.run(["migrate", "app", "--to", failing]);
    assert.equal(r.exitCode, 10, String(r.stderr));
    assert.match(String(r.stderr), /could not restore the container \(exit 7\); "app" was restored here and keeps running[\s\S]*no space left on the target/);
    assert.equal((await source.json<PsEntry[]>(["ps"])).find((e) => e.name === "app")?.status, "running");
    const before = Number(String((await source.ok(["logs", "app"])).stdout).trim().split("\n").at(-1));
    const later = await waitFor("the counter to go on", async () => {
      const n = Number(String((await source.ok(["logs", "app"])).stdout).trim().split("\n").at(-1));
      return n > before ? n : undefined;
    });
    assert.ok(later > before);
  });

  test("--pre-dump is refused with the kernel's reason", async (t) => {
    if (!(await requireRealHost(t, "runc"))) return;
    const { source } = await twoHosts(t);
    const r = await source.run(["migrate", "x", "--to", "true", "--pre-dump"]);
    assert.equal(r.exitCode, 3);
    assert.match(String(r.stderr), /CONFIG_MEM_SOFT_DIRTY is not set/);
  });
});
