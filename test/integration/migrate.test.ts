// Migration between two "hosts" on one machine: each its own ckpt state root and network
// namespace. The archive streams from the checkpoint into the target's restore (no network
// needed); with --lazy the memory follows over the veth link from the source's page server.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { readlink, writeFile, chmod } from "node:fs/promises";
import { join } from "node:path";
import { before, describe, test } from "node:test";
import { execa } from "execa";
import { createBusyboxBundle } from "../harness/bundle.ts";
import { ckptBin } from "../harness/cli.ts";
import { CkptRoot } from "../harness/ckpt-root.ts";
import { requireRealHost } from "../harness/prerequisites.ts";
import { waitFor } from "../harness/reports.ts";
import { removeStaleSandboxes, Sandbox } from "../harness/sandbox.ts";
import { testResourcePrefix } from "../harness/owner.ts";
import { combinationName } from "../harness/matrix.ts";

interface PsEntry {
  name: string;
  status: string;
  pid: number | null;
}

// Two hosts on one machine: each its own network namespace, joined by a veth pair on
// 192.0.2.0/24 (reserved for documentation and tests). Neither end is in the machine's own
// namespace: its own network may use that range too (this project's machines do, with
// the gateway at .1), and an address added there would shadow it.
const SOURCE_ADDRESS = "192.0.2.11";
const TARGET_ADDRESS = "192.0.2.12";

async function twoHosts(t: Parameters<typeof Sandbox.create>[0]) {
  const sandbox = await Sandbox.create(t);
  const source = new CkptRoot(sandbox, "host-a");
  const target = new CkptRoot(sandbox, "host-b");
  const [netnsA, netnsB] = ["a", "b"].map((h) => `${testResourcePrefix}${process.pid}-${h}`.slice(0, 30)) as [string, string];
  for (const ns of [netnsA, netnsB]) {
    await execa("ip", ["netns", "add", ns]);
    sandbox.defer(async () => void (await execa("ip", ["netns", "delete", ns], { reject: false })));
    await execa("ip", ["-n", ns, "link", "set", "lo", "up"]);
  }
  // Deleting a namespace deletes its end of the pair, and with it the other.
  const veth = `ck${process.pid % 100000}`;
  await execa("ip", ["-n", netnsA, "link", "add", `${veth}a`, "type", "veth", "peer", "name", `${veth}b`, "netns", netnsB]);
  await execa("ip", ["-n", netnsA, "addr", "add", `${SOURCE_ADDRESS}/24`, "dev", `${veth}a`]);
  await execa("ip", ["-n", netnsA, "link", "set", `${veth}a`, "up"]);
  await execa("ip", ["-n", netnsB, "addr", "add", `${TARGET_ADDRESS}/24`, "dev", `${veth}b`]);
  await execa("ip", ["-n", netnsB, "link", "set", `${veth}b`, "up"]);
  // nsenter --net, not `ip netns exec`: that one remounts /sys, hiding the cgroup mounts
  // runc needs.
  const onA = (args: string[]) => ["nsenter", `--net=/run/netns/${netnsA}`, ckptBin, "--root", source.root, ...args];
  return { sandbox, source, target, onA, toTarget: `nsenter --net=/run/netns/${netnsB} ${ckptBin} --root ${target.root}` };
}

// A target that says it can take the container (ckpt's __check-restore), reads the whole
// archive, then fails as a full disk would.
async function failingTarget(sandbox: Sandbox): Promise<string> {
  const path = sandbox.path("full-host");
  await writeFile(path, "#!/bin/sh\nif [ \"$1\" = __check-restore ]; then cat > /dev/null; echo '{\"problems\":[]}'; exit 0; fi\ncat > /dev/null\necho 'no space left on the target' >&2\nexit 7\n");
  await chmod(path, 0o755);
  return path;
}

describe(`ckpt migrate [${combinationName()}]`, () => {
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
    const failing = await failingTarget(sandbox);
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

  test("--lazy: the holder starts on the other host before its memory has moved, then every page arrives from the source's page server over the veth link", async (t) => {
    if (!(await requireRealHost(t, "runc"))) return;
    const { sandbox, source, target, onA, toTarget } = await twoHosts(t);
    const bundle = await createBusyboxBundle(sandbox.path("bundle"), { args: ["/usr/bin/memory-holder", "64"] });
    await source.ok(["--runtime", "runc", "run", "-d", "--name", "mem", bundle]);
    const checksum = await waitFor("the holder's checksum", async () => /ready mib=64 checksum=([0-9a-f]+)/.exec(String((await source.ok(["logs", "mem"])).stdout))?.[1]);

    const argv = onA(["migrate", "mem", "--lazy", "--page-server", SOURCE_ADDRESS, "--to", toTarget, "--json"]);
    const r = await execa(argv[0]!, argv.slice(1), { reject: false });
    assert.equal(r.exitCode, 0, String(r.stderr));
    const moved = JSON.parse(String(r.stdout)) as { lazy: boolean; downtimeNs: number; durationNs: number; pageTransferNs: number; tarBytes: number; restored: { pid: number; lazyPages: { from: string; daemonPid: number } } };
    assert.equal(moved.lazy, true);
    assert.equal(moved.restored.lazyPages.from, `${SOURCE_ADDRESS}:27027`);
    // The archive held no memory: 64 MiB went through the page server instead.
    assert.ok(moved.tarBytes < 16 * 1024 * 1024, `${moved.tarBytes} bytes streamed`);
    assert.ok(moved.downtimeNs > 0 && moved.pageTransferNs > 0 && moved.downtimeNs + moved.pageTransferNs <= moved.durationNs, JSON.stringify(moved));
    assert.deepEqual(await source.json<PsEntry[]>(["ps", "-a"]), [], "the source is removed once its last page has moved");
    const there = (await target.json<(PsEntry & { lazyPages: unknown })[]>(["ps"])).find((e) => e.name === "mem");
    assert.equal(there?.status, "running");
    // Every page arrived (--wait-for-pages): the daemon's images and record are gone.
    assert.equal(there?.lazyPages, null);
    assert.equal(existsSync(join(target.root, "containers", "mem", "lazy-images")), false, "the lazy-pages daemon's images are removed");

    await target.ok(["exec", "mem", "--", "kill", "-USR1", "1"]);
    const verdict = await waitFor("the holder's verdict", async () => /verify (ok|MISMATCH) checksum=([0-9a-f]+)/.exec(String((await target.ok(["logs", "mem"])).stdout)) ?? undefined);
    assert.deepEqual([verdict[1], verdict[2]], ["ok", checksum]);
    const exec = String((await target.ok(["exec", "mem", "--", "readlink", "/proc/self/ns/time"])).stdout).trim();
    assert.equal(exec, await readlink(`/proc/${there!.pid}/ns/time`), "one clock on the target");
  });

  test("--lazy: a target that fails leaves the container running at the source, its memory never having left", async (t) => {
    if (!(await requireRealHost(t, "runc"))) return;
    const { sandbox, source, onA } = await twoHosts(t);
    const bundle = await createBusyboxBundle(sandbox.path("bundle"), { args: ["/bin/sh", "-c", "i=0; while :; do i=$((i+1)); echo $i; sleep 0.2; done"] });
    await source.ok(["--runtime", "runc", "run", "-d", "--name", "app", bundle]);
    const failing = await failingTarget(sandbox);
    const argv = onA(["migrate", "app", "--lazy", "--page-server", SOURCE_ADDRESS, "--to", failing]);
    const r = await execa(argv[0]!, argv.slice(1), { reject: false });
    assert.equal(r.exitCode, 10, String(r.stderr));
    assert.match(String(r.stderr), /could not restore the container \(exit 7\); ckpt ended the page server and "app" is running here[\s\S]*no space left on the target/);
    const before = Number(String((await source.ok(["logs", "app"])).stdout).trim().split("\n").at(-1));
    const later = await waitFor("the counter to go on", async () => {
      const n = Number(String((await source.ok(["logs", "app"])).stdout).trim().split("\n").at(-1));
      return n > before ? n : undefined;
    });
    assert.ok(later > before);
  });

  test("--lazy: when the target's lazy-pages daemon dies mid-transfer, its copy is removed and the source, whole, runs on", async (t) => {
    if (!(await requireRealHost(t, "runc"))) return;
    const { sandbox, source, target, onA, toTarget } = await twoHosts(t);
    const bundle = await createBusyboxBundle(sandbox.path("bundle"), { args: ["/usr/bin/memory-holder", "384"] });
    await source.ok(["--runtime", "runc", "run", "-d", "--name", "mem", bundle]);
    const checksum = await waitFor("the holder's checksum", async () => /ready mib=384 checksum=([0-9a-f]+)/.exec(String((await source.ok(["logs", "mem"])).stdout))?.[1], 20_000);
    // The target's restore runs as asked; once it has reported the container running
    // (pages still arriving), its daemon is killed (its argv names the target's root).
    const wrapper = sandbox.path("target-losing-its-daemon");
    await writeFile(
      wrapper,
      `#!/bin/bash
if [ "$1" = restore ]; then
  report=${sandbox.path("target-report.json")}
  exec 3<&0
  ${toTarget} "$@" <&3 > >(tee "$report") &
  r=$!
  for i in $(seq 1000); do grep -q '"pid"' "$report" 2>/dev/null && break; sleep 0.02; done
  pkill -KILL -f "lazy-pages.*${target.root}/"
  wait $r
else
  exec ${toTarget} "$@"
fi
`,
    );
    await chmod(wrapper, 0o755);
    const argv = onA(["migrate", "mem", "--lazy", "--page-server", SOURCE_ADDRESS, "--to", wrapper]);
    const r = await execa(argv[0]!, argv.slice(1), { reject: false });
    assert.equal(r.exitCode, 10, String(r.stderr));
    assert.match(String(r.stderr), /the memory of "mem" stopped moving after it had started on the target; it runs here again/);
    assert.deepEqual(await target.json<PsEntry[]>(["ps", "-a"]), [], "the target's copy, missing pages, is gone");
    assert.equal((await source.json<PsEntry[]>(["ps"])).find((e) => e.name === "mem")?.status, "running");
    await source.ok(["exec", "mem", "--", "kill", "-USR1", "1"]);
    const verdict = await waitFor("the holder's verdict", async () => /verify (ok|MISMATCH) checksum=([0-9a-f]+)/.exec(String((await source.ok(["logs", "mem"])).stdout)) ?? undefined);
    assert.deepEqual([verdict[1], verdict[2]], ["ok", checksum]);
  });

  test("--lazy is refused without --page-server, with a wildcard address, and for crun", async (t) => {
    if (!(await requireRealHost(t, "crun"))) return;
    const { sandbox, source } = await twoHosts(t);
    let r = await source.run(["migrate", "x", "--lazy", "--to", "true"]);
    assert.equal(r.exitCode, 2);
    assert.match(String(r.stderr), /--lazy needs --page-server/);
    r = await source.run(["migrate", "x", "--lazy", "--page-server", "0.0.0.0", "--to", "true"]);
    assert.equal(r.exitCode, 2);
    assert.match(String(r.stderr), /concrete address/);
    const bundle = await createBusyboxBundle(sandbox.path("bundle"), { args: ["/bin/sh", "-c", "while :; do sleep 1; done"] });
    await source.ok(["--runtime", "crun", "run", "-d", "--name", "c", bundle]);
    r = await source.run(["migrate", "c", "--lazy", "--page-server", SOURCE_ADDRESS, "--to", "true"]);
    assert.equal(r.exitCode, 2);
    assert.match(String(r.stderr), /runs on crun, which cannot checkpoint lazily/);
    assert.equal((await source.json<PsEntry[]>(["ps"])).find((e) => e.name === "c")?.status, "running");
  });

  test("--pre-dump is refused with the kernel's reason", async (t) => {
    if (!(await requireRealHost(t, "runc"))) return;
    const { source } = await twoHosts(t);
    const r = await source.run(["migrate", "x", "--to", "true", "--pre-dump"]);
    assert.equal(r.exitCode, 3);
    assert.match(String(r.stderr), /CONFIG_MEM_SOFT_DIRTY is not set/);
  });
});
