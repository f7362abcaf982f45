// Portable checkpoints on real runtimes and CRIU: archives streamed through a pipe,
// verified on import, refused when altered or hostile; podman's archives read and
// restored; a checkpoint plain runc left unrestorable repaired.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readdir, readFile, stat, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { before, describe, test } from "node:test";
import { execa } from "execa";
import { readContainerTasks } from "../../src/proc/container-tasks.ts";
import { writeRawTar, type RawEntry } from "../harness/archives.ts";
import { createBusyboxBundle, inContainerShell } from "../harness/bundle.ts";
import { ckptBin } from "../harness/cli.ts";
import { CkptRoot } from "../harness/ckpt-root.ts";
import { podmanBusyboxImage } from "../harness/podman.ts";
import { requirePodman, requireRealHost, requireRoot } from "../harness/prerequisites.ts";
import { waitFor } from "../harness/reports.ts";
import { removeStaleSandboxes, Sandbox } from "../harness/sandbox.ts";
import { testResourcePrefix } from "../harness/owner.ts";
import { watchStaging } from "../harness/staging.ts";
import { combinationLabel, combinationName, testedRuntimes } from "../harness/matrix.ts";

interface PsEntry {
  name: string;
  status: string;
  pid: number | null;
}

const sha256 = async (path: string) => createHash("sha256").update(await readFile(path)).digest("hex");

// A memory holder (32 MiB, half random) whose output reaches `ckpt logs`.
async function memoryContainer(ckpt: CkptRoot, sandbox: Sandbox, runtime: string, name: string) {
  const bundle = await createBusyboxBundle(sandbox.path(`bundle-${name}`), { args: ["/usr/bin/memory-holder", "32"] });
  await ckpt.ok(["--runtime", runtime, "run", "-d", "--name", name, bundle]);
  const logs = async () => String((await ckpt.ok(["logs", name])).stdout);
  const ready = await waitFor("the memory holder's checksum", async () => /ready mib=32 checksum=([0-9a-f]+)/.exec(await logs())?.[1]);
  return { bundle, logs, checksum: ready };
}

describe(`archives [${combinationName()}]`, () => {
  before(() => removeStaleSandboxes());

  for (const runtime of testedRuntimes()) {
    test(`${combinationLabel(runtime)}: a round trip through \`ckpt checkpoint --export - NAME | ckpt restore --import -\` brings the memory back byte for byte, on its own copy of the root filesystem`, async (t) => {
      if (!(await requireRealHost(t, runtime))) return;
      const sandbox = await Sandbox.create(t);
      const ckpt = new CkptRoot(sandbox);
      const c = await memoryContainer(ckpt, sandbox, runtime, "mem");
      const leftovers = await watchStaging(ckpt.root);
      const pipe = await execa("bash", ["-o", "pipefail", "-c", `"$CKPT" --root "$ROOT" checkpoint --export - mem | "$CKPT" --root "$ROOT" restore --import - --json`], {
        env: { CKPT: ckptBin, ROOT: ckpt.root, CKPT_NODE: process.execPath },
        reject: false,
      });
      assert.equal(pipe.exitCode, 0, `the pipe failed:\n${pipe.stderr}`);
      const restored = JSON.parse(pipe.stdout) as { name: string; archive: { verified: boolean; files: number; staging: string } };
      assert.equal(restored.name, "mem");
      assert.equal(restored.archive.verified, true);
      assert.ok(restored.archive.files > 10, `every file of the archive was hashed (${restored.archive.files})`);
      assert.match(pipe.stderr, /archive: +standard output \(zstd/, "the export's report goes to stderr when stdout carries the archive");
      const ps = (await ckpt.json<PsEntry[]>(["ps"])).find((e) => e.name === "mem");
      assert.equal(ps?.status, "running");
      // The restored container runs on the copy of the root filesystem the archive carried.
      const record = JSON.parse(await readFile(join(ckpt.root, "containers", "mem", "container.json"), "utf8")) as { rootfs: string };
      assert.equal(record.rootfs, join(ckpt.root, "containers", "mem", "rootfs"));
      assert.ok(existsSync(join(record.rootfs, "usr/bin/memory-holder")));
      await ckpt.ok(["exec", "mem", "--", "kill", "-USR1", "1"]);
      const verdict = await waitFor("the memory holder's verdict", async () => /verify (ok|MISMATCH) checksum=([0-9a-f]+)/.exec(await c.logs()) ?? undefined);
      assert.equal(verdict[1], "ok");
      assert.equal(verdict[2], c.checksum);
      assert.deepEqual(await leftovers(), [], "no staging directory is left in tmpfs");
    });
  }

  test("an archive file is written 0600 and complete; inspect reads it and vouches for every file; a tampered copy is refused naming the file, untouched, nothing restored", async (t) => {
    if (!(await requireRealHost(t, "runc"))) return;
    const sandbox = await Sandbox.create(t);
    const ckpt = new CkptRoot(sandbox);
    await memoryContainer(ckpt, sandbox, "runc", "mem");
    const archive = sandbox.path("mem.tar.zst");
    await ckpt.ok(["checkpoint", "--export", archive, "mem"]);
    assert.equal((await stat(archive)).mode & 0o777, 0o600);
    assert.deepEqual((await readdir(sandbox.dir)).filter((n) => n.includes(".partial")), [], "no temporary file is left beside the archive");
    assert.equal((await ckpt.json<PsEntry[]>(["ps", "-a"])).find((e) => e.name === "mem")?.status, "checkpointed");
    const hint = await ckpt.run(["restore", "mem"]);
    assert.equal(hint.exitCode, 4);
    assert.match(String(hint.stderr), new RegExp(`ckpt restore --import ${archive.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}`));

    // inspect: decoded from the images, checked against the manifest.
    const report = await ckpt.json<{
      source: { kind: string; archive: { integrity: string } };
      timeNamespace: { consistent: boolean; tasks: { pid: number }[] };
      processes: { pid: number; command: string; memory: { pagesWritten: number } | null; files: { fd: number; type: string }[] }[];
      criuStats: { pagesWritten: number } | null;
    }>(["inspect", archive]);
    assert.equal(report.source.kind, "ckpt");
    assert.equal(report.source.archive.integrity, "verified");
    assert.equal(report.timeNamespace.consistent, true);
    const holder = report.processes.find((p) => p.command === "memory-holder");
    assert.ok(holder?.memory && holder.memory.pagesWritten >= (32 * 1048576) / 4096, `the holder's 32 MiB are in its pages (${holder?.memory?.pagesWritten})`);
    assert.ok(report.criuStats !== null && report.criuStats.pagesWritten >= holder.memory.pagesWritten);
    assert.deepEqual(holder.files.filter((f) => f.fd <= 2).map((f) => f.type), ["file", "pipe", "pipe"], "stdin /dev/null, stdout and stderr the monitor's pipes");

    // Tamper: one byte of the memory pages.
    const unpacked = sandbox.path("unpacked");
    await execa("mkdir", [unpacked]);
    await execa("bash", ["-c", `zstd -dc "$1" | tar -xf - -C "$2"`, "_", archive, unpacked]);
    const pagesName = (await readdir(join(unpacked, "checkpoint"))).find((n) => /^pages-\d+\.img$/.test(n))!;
    const pages = await readFile(join(unpacked, "checkpoint", pagesName));
    const middle = pages.length >> 1;
    pages.writeUInt8(pages.readUInt8(middle) ^ 0xff, middle);
    await writeFile(join(unpacked, "checkpoint", pagesName), pages);
    const tampered = sandbox.path("tampered.tar.zst");
    await execa("bash", ["-c", `tar -cf - -C "$1" . | zstd -q -c > "$2"`, "_", unpacked, tampered]);
    const before = await sha256(tampered);
    const leftovers = await watchStaging(ckpt.root);
    const refused = await ckpt.run(["restore", "--import", tampered, "-n", "tampered"]);
    assert.equal(refused.exitCode, 8);
    assert.match(String(refused.stderr), new RegExp(`failed verification: checkpoint/${pagesName}: SHA-256 [0-9a-f]{64} does not match`));
    assert.equal(await sha256(tampered), before, "the archive is untouched");
    assert.equal((await ckpt.json<PsEntry[]>(["ps", "-a"])).some((e) => e.name === "tampered"), false, "nothing was restored");
    assert.deepEqual(await leftovers(), []);
    // The untouched archive still restores; with --json, progress comes as NDJSON on stderr.
    const again = await ckpt.ok(["restore", "--import", archive, "--json"]);
    const events = String(again.stderr).split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as { event: string; phase: string; bytes: number });
    assert.ok(events.some((e) => e.event === "progress" && e.phase === "import" && e.bytes > 32 * 1048576), `an import progress event with the bytes read: ${String(again.stderr).slice(0, 300)}`);

    // The compression comes from the environment (or the config file) when -c is not given.
    const gz = sandbox.path("mem.tar.gz");
    const viaEnv = await ckpt.run(["checkpoint", "--export", gz, "mem"], { env: { CKPT_COMPRESS: "gzip", CKPT_NODE: process.execPath } });
    assert.equal(viaEnv.exitCode, 0, String(viaEnv.stderr));
    assert.deepEqual([...(await readFile(gz)).subarray(0, 2)], [0x1f, 0x8b], "a gzip archive");
    await ckpt.ok(["restore", "--import", gz]);
    assert.equal((await ckpt.json<PsEntry[]>(["ps"])).find((e) => e.name === "mem")?.status, "running");
  });

  test("absolute and relative symbolic links of a root filesystem round trip through export and import, unchanged, and the container runs", async (t) => {
    if (!(await requireRealHost(t, "runc"))) return;
    const sandbox = await Sandbox.create(t);
    const ckpt = new CkptRoot(sandbox);
    const bundle = await createBusyboxBundle(sandbox.path("bundle"), { args: inContainerShell("sleep 1000") });
    // What every distro image has: /var/run -> /run, and links by absolute path.
    await mkdir(join(bundle, "rootfs", "var"), { recursive: true });
    await mkdir(join(bundle, "rootfs", "run"), { recursive: true });
    await symlink("/run", join(bundle, "rootfs", "var", "run"));
    await symlink("/bin/busybox", join(bundle, "rootfs", "usr", "bin", "abs-busybox"));
    await ckpt.ok(["--runtime", "runc", "run", "-d", "--name", "links", bundle]);
    const archive = sandbox.path("links.tar.zst");
    await ckpt.ok(["checkpoint", "--export", archive, "links"]);
    await ckpt.ok(["rm", "-f", "links"]);
    await ckpt.ok(["restore", "--import", archive]);
    const r = await ckpt.ok(["exec", "links", "--", "sh", "-c", "readlink /var/run; readlink /usr/bin/abs-busybox; readlink /bin/sh"]);
    assert.deepEqual(String(r.stdout).trim().split("\n"), ["/run", "/bin/busybox", "busybox"]);
    assert.equal(existsSync(join(ckpt.root, "containers", "links", "rootfs", "run")), true, "the link's target is the container's own /run");
  });

  test("an export whose destination fails after the dump leaves the container running and no partial archive", async (t) => {
    if (!(await requireRealHost(t, "runc"))) return;
    const sandbox = await Sandbox.create(t);
    const ckpt = new CkptRoot(sandbox);
    await memoryContainer(ckpt, sandbox, "runc", "mem");
    // The reader goes away after a few bytes: the export's writes fail with EPIPE.
    const leftovers = await watchStaging(ckpt.root);
    const r = await execa("bash", ["-c", `"$CKPT" --root "$ROOT" checkpoint --export - mem | head -c 1000 > /dev/null; exit "\${PIPESTATUS[0]}"`], {
      env: { CKPT: ckptBin, ROOT: ckpt.root, CKPT_NODE: process.execPath },
      reject: false,
    });
    assert.equal(r.exitCode, 10, `exit code of the failed export:\n${r.stderr}`);
    assert.match(r.stderr, /"mem" was restored from its images and is running/);
    assert.equal((await ckpt.json<PsEntry[]>(["ps"])).find((e) => e.name === "mem")?.status, "running");
    // A destination that cannot be written is refused before anything is dumped.
    const missing = await ckpt.run(["checkpoint", "--export", sandbox.path("no-such-dir", "x.tar.zst"), "mem"]);
    assert.equal(missing.exitCode, 4);
    assert.equal((await ckpt.json<PsEntry[]>(["ps"])).find((e) => e.name === "mem")?.status, "running");
    assert.deepEqual(await leftovers(), []);
  });

  // Each attack: a tar whose first hostile entry must stop the import before it writes.
  const marker = `${testResourcePrefix}evil-${process.pid}`;
  const outside = `/tmp/${marker}`;
  // Where a file written through a chain of ".." links would land: above the staging
  // directory (/dev/shm, or ROOT/staging on disk), up to the root.
  const landings = (root: string) => [outside, `/dev/shm/${marker}`, `/${marker}`, join(root, marker), join(root, "..", marker)];
  const owned = Buffer.from("owned");
  // a/l1 -> .. is the destination itself; every further link climbs one level higher.
  const chain = (links: number): RawEntry[] => {
    const entries: RawEntry[] = [{ path: "a", type: "Directory" }];
    let at = "a";
    for (let i = 1; i <= links; i++) {
      at = `${at}/l${i}`;
      entries.push({ path: at, type: "SymbolicLink", linkpath: ".." });
    }
    return [...entries, { path: `${at}/${marker}`, type: "File", content: owned }];
  };
  const attacks: Record<string, { entries: RawEntry[]; expect: RegExp }> = {
    "absolute-path": { entries: [{ path: outside, type: "File", content: owned }], expect: /attack: absolute-path/ },
    "parent-traversal": { entries: [{ path: `checkpoint/../../../..${outside}`, type: "File", content: owned }], expect: /attack: parent-traversal/ },
    "link-escape": {
      entries: [{ path: "checkpoint", type: "SymbolicLink", linkpath: "../../../../../tmp" }, { path: `checkpoint/${marker}`, type: "File", content: owned }],
      expect: /attack: link-in-checkpoint/,
    },
    ...Object.fromEntries([2, 3, 5, 8].map((n) => [`link-chain of ${n} links, each pointing inside on its own`, { entries: chain(n), expect: /attack: link-in-checkpoint/ }])),
    "link then a directory through it": { entries: [{ path: "x", type: "SymbolicLink", linkpath: "/tmp" }, { path: `x/${marker}`, type: "Directory" }], expect: /attack: link-in-checkpoint/ },
    "hard link to a path outside": { entries: [{ path: "checkpoint/passwd", type: "Link", linkpath: "/etc/passwd" }], expect: /attack: link-in-checkpoint/ },
    "link replaced by a later entry": {
      entries: [{ path: "checkpoint/a", type: "File", content: owned }, { path: "checkpoint/a", type: "SymbolicLink", linkpath: "/tmp" }, { path: `checkpoint/a/${marker}`, type: "File", content: owned }],
      expect: /attack: link-in-checkpoint/,
    },
    "duplicate entries": { entries: [{ path: "spec.dump", type: "File", content: Buffer.from("{}") }, { path: "spec.dump", type: "File", content: owned }], expect: /spec\.dump appears twice/ },
    "special-file": { entries: [{ path: "checkpoint/fifo", type: "FIFO" }], expect: /attack: special-file/ },
    "oversized-metadata": { entries: [{ path: "spec.dump", type: "File", content: Buffer.alloc(17 * 1024 * 1024, 0x20) }], expect: /attack: oversized-metadata/ },
  };
  // Every reader of an archive: inspect, restore --import of a file, a migration target
  // (`restore --import - --json` reading the archive on its standard input, exactly as
  // migrate runs it), and repair, whose output is a destination too.
  const readers = (evil: string, out: string): { name: string; args: string[]; stdin?: string }[] => [
    { name: "inspect", args: ["inspect", evil] },
    { name: "restore --import FILE", args: ["restore", "--import", evil, "--no-verify"] },
    { name: "restore --import - (a migration target)", args: ["restore", "--import", "-", "--json"], stdin: evil },
    { name: "repair -o OUT", args: ["repair", "--unify-timens", evil, "-o", out] },
  ];
  for (const [attack, { entries, expect }] of Object.entries(attacks)) {
    test(`attack: ${attack}: an archive carrying it is refused by inspect, restore --import FILE, restore --import - (a migration target) and repair before anything is written`, async (t) => {
      if (!requireRoot(t)) return;
      const sandbox = await Sandbox.create(t);
      const ckpt = new CkptRoot(sandbox);
      const evil = sandbox.path(`${attack}.tar`);
      const out = sandbox.path("repaired");
      await writeRawTar(evil, [{ path: "config.dump", type: "File", content: Buffer.from("{}") }, ...entries]);
      for (const reader of readers(evil, out)) {
        const leftovers = await watchStaging(ckpt.root);
        const r = await ckpt.run(reader.args, reader.stdin === undefined ? {} : { inputFile: reader.stdin });
        assert.equal(r.exitCode, 5, `${reader.name}: exit code:\n${r.stderr}`);
        assert.match(String(r.stderr), expect, reader.name);
        assert.deepEqual(landings(ckpt.root).filter((p) => existsSync(p)), [], `${reader.name}: nothing was written outside the staging directory`);
        assert.deepEqual(await leftovers(), [], `${reader.name}: the staging directory is gone`);
        assert.deepEqual(await readdir(join(ckpt.root, "containers")).catch(() => []), [], `${reader.name}: no container was created`);
        assert.deepEqual((await readdir(sandbox.dir)).filter((n) => n.startsWith("repaired")), [], `${reader.name}: nothing at OUT, nor a partial copy beside it`);
      }
    });
  }
});

describe(`other tools' checkpoints [${combinationName()}]`, () => {
  before(() => removeStaleSandboxes());

  test("a podman-exported archive: inspect shows it, restore --import brings it up as a ckpt container whose counter goes on", async (t) => {
    if (!(await requirePodman(t))) return;
    const sandbox = await Sandbox.create(t);
    const ckpt = new CkptRoot(sandbox);
    const { tag, image, rootfs } = await podmanBusyboxImage(sandbox);
    await execa("podman", ["run", "-d", "--name", tag, "--runtime", "runc", "--network", "none", "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024", image, "/bin/sh", "-c", "i=0; while :; do i=$((i+1)); echo $i > /tmp/count; sleep 0.2; done"]);
    await waitFor("podman's counter", async () => ((await execa("podman", ["exec", tag, "cat", "/tmp/count"], { reject: false })).stdout.trim() >= "3" ? true : undefined));
    const archive = sandbox.path("podman.tar.zst");
    await execa("podman", ["container", "checkpoint", "--export", archive, tag]);
    const counted = Number((await execa("bash", ["-c", `zstd -dc "$1" | tar -xOf - rootfs-diff.tar | tar -xOf - tmp/count`, "_", archive])).stdout.trim());
    assert.ok(counted > 0, "the archive holds the counter's file");

    const report = await ckpt.json<{
      source: { kind: string; archive: { integrity: string } };
      container: { name: string; image: string };
      timeNamespace: { consistent: boolean; rootNamespaceId: number; tasks: { namespaceId: number }[] };
      processes: { command: string; state: string }[];
    }>(["inspect", archive]);
    assert.equal(report.source.kind, "podman");
    assert.equal(report.source.archive.integrity, "no-manifest");
    assert.deepEqual([report.container.name, report.container.image], [tag, image]);
    assert.deepEqual(report.processes.map((p) => p.command).sort(), ["sh", "sleep"]);
    assert.ok(report.timeNamespace.consistent && report.timeNamespace.tasks.every((x) => x.namespaceId === report.timeNamespace.rootNamespaceId));

    const unverified = await ckpt.run(["restore", "--import", archive]);
    assert.equal(unverified.exitCode, 8);
    assert.match(String(unverified.stderr), /no ckpt manifest[\s\S]*--no-verify/);
    const noBase = await ckpt.run(["restore", "--import", archive, "--no-verify"]);
    assert.equal(noBase.exitCode, 2);
    assert.match(String(noBase.stderr), new RegExp(`changes made to its image's root filesystem \\(${image.replace(/[.:/]/g, "\\$&")}\\)[\\s\\S]*--rootfs DIR`));

    await ckpt.ok(["restore", "--import", archive, "--no-verify", "--rootfs", rootfs]);
    assert.equal((await ckpt.json<PsEntry[]>(["ps"])).find((e) => e.name === tag)?.status, "running");
    const first = Number((await ckpt.ok(["exec", tag, "--", "cat", "/tmp/count"])).stdout);
    assert.ok(first >= counted, `the counter went on from ${counted} (now ${first})`);
    const later = await waitFor("the counter to advance", async () => {
      const n = Number((await ckpt.ok(["exec", tag, "--", "cat", "/tmp/count"])).stdout);
      return n > first ? n : undefined;
    });
    assert.ok(later > first);
    assert.equal(existsSync(join(rootfs, "tmp/count")), false, "the base root filesystem was copied, not changed");
  });

  test("runc's fact-2 checkpoint: restore refuses it naming the repair; the repaired copy restores with every task in one time namespace and the daemon alive", async (t) => {
    if (!(await requireRealHost(t, "runc"))) return;
    const sandbox = await Sandbox.create(t);
    const ckpt = new CkptRoot(sandbox);
    const bundle = await createBusyboxBundle(sandbox.path("bundle"), { args: inContainerShell("sleep 100000") });
    await ckpt.ok(["--runtime", "runc", "run", "-d", "--name", "app", bundle]);
    await ckpt.ok(["checkpoint", "app"]);
    // PID 1 in a time namespace of its own, as after any runc restore.
    await ckpt.ok(["restore", "--time-mode", "continue", "app"]);
    const id = (await ckpt.json<{ name: string; id: string }[]>(["ps"])).find((e) => e.name === "app")!.id;
    const runc = ["--root", join(ckpt.root, "runtime", "runc")];
    // Plain runc (1.1.5): the daemon stays in the host's namespace, re-parented to PID 1;
    // runc's own checkpoint takes it as it is.
    await execa("runc", [...runc, "exec", id, "sh", "-c", "sleep 100001 </dev/null >/dev/null 2>&1 &"], { timeout: 20_000 });
    const images = sandbox.path("runc-images");
    await execa("runc", [...runc, "checkpoint", "--image-path", images, "--work-path", sandbox.path("runc-work"), id], { timeout: 60_000 });

    const refused = await ckpt.run(["restore", "--bundle", bundle, "-n", "fixed", images]);
    assert.equal(refused.exitCode, 8);
    assert.match(String(refused.stderr), /another time namespace than PID 1's[\s\S]*PID \d+ \(sleep\)[\s\S]*ckpt repair --unify-timens/);
    const untouched = await readdir(images).then((names) => Promise.all(names.sort().map(async (n) => `${n} ${await sha256(join(images, n))}`)));

    const repaired = sandbox.path("repaired");
    const result = await ckpt.json<{ repaired: boolean; moved: { command: string }[]; clocks: { basis: string; monotonicNs: number } }>(["repair", "--unify-timens", images, "-o", repaired]);
    assert.equal(result.repaired, true);
    assert.deepEqual(result.moved.map((m) => m.command), ["sleep"]);
    assert.equal(result.clocks.basis, "file-time", "a plain runc dump on this boot: the images' write time bounds the host's clocks");
    assert.deepEqual(await readdir(images).then((names) => Promise.all(names.sort().map(async (n) => `${n} ${await sha256(join(images, n))}`))), untouched, "the original is unchanged");

    await ckpt.ok(["restore", "--bundle", bundle, "-n", "fixed", repaired]);
    const pid = (await ckpt.json<PsEntry[]>(["ps"])).find((e) => e.name === "fixed")!.pid!;
    const tasks = await readContainerTasks(pid);
    assert.equal(new Set(tasks.map((task) => task.timeNamespace)).size, 1, `one time namespace: ${tasks.map((task) => `${task.pid}:${task.timeNamespace}`).join(" ")}`);
    assert.ok(tasks.some((task) => task.command.includes("sleep 100001")), `the daemon is alive: ${tasks.map((task) => task.command).join(", ")}`);
  });
});
