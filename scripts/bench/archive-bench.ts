// Benchmarks ckpt's archives against the peer on the same 1 GiB container (a memory
// holder: half random, half patterned data), and prints one table of medians:
//
//   export   ckpt checkpoint --export (zstd)    vs podman container checkpoint --export
//   import   ckpt restore --import (zstd)       vs podman container restore --import
//   dir      ckpt checkpoint (to the store)     vs runc checkpoint, same disk
//   inspect  ckpt inspect --json (a checkpoint) vs crit show of the images it decodes
//   migrate  the downtime of ckpt migrate (to a second state root) vs podman's export
//            plus import of the same container
//   lazy     the same with --lazy (post-copy over loopback): at most 1 s
//
// Run it as root on a host set up by scripts/setup-host.sh: scripts/bench/run.sh
// Environment: BENCH_RUNS (default 3), BENCH_WARMUP (uncounted runs first, default 1),
// BENCH_MIB (default 1024), BENCH_DIR (default
// /var/tmp/ckpt-bench: on disk, not tmpfs), CRIT (a crit to compare with; default: the
// one in Debian's criu package, unpacked under /var/cache/ckpt/crit by run.sh).
import { mkdir, readdir, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { execa } from "execa";
import { createBusyboxBundle } from "../../test/harness/bundle.ts";
import { ckptBin } from "../../test/harness/cli.ts";

const runs = Number(process.env["BENCH_RUNS"] ?? 3);
// Runs whose figures are dropped: in a VM, memory the guest touches for the first time
// costs a host fault per page, which makes whichever tool runs first look slow.
const warmups = Number(process.env["BENCH_WARMUP"] ?? 1);
const mib = Number(process.env["BENCH_MIB"] ?? 1024);
const base = process.env["BENCH_DIR"] ?? "/var/tmp/ckpt-bench";
const crit = process.env["CRIT"] ?? "/var/cache/ckpt/crit/usr/bin/crit";
const critPath = process.env["CRIT_PYTHONPATH"] ?? "/var/cache/ckpt/crit/usr/lib/python3/dist-packages";
const root = join(base, "ckpt-root");
const root2 = join(base, "ckpt-root-target");
const env = { CKPT_NODE: process.execPath };

const ckpt = (args: string[]) => execa(ckptBin, ["--root", root, ...args], { env });
const seconds = async (fn: () => Promise<unknown>) => {
  const t = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t) / 1e9;
};
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const log = (s: string) => process.stderr.write(`bench: ${s}\n`);

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 120_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

async function main(): Promise<void> {
  await rm(base, { recursive: true, force: true });
  await mkdir(base, { recursive: true });
  const bundle = await createBusyboxBundle(join(base, "bundle"), { args: ["/usr/bin/memory-holder", String(mib)] });
  const image = "localhost/ckpt-bench:latest";
  await execa("tar", ["-C", join(bundle, "rootfs"), "-cf", join(base, "rootfs.tar"), "."]);
  await execa("podman", ["rmi", "-f", image], { reject: false });
  await execa("podman", ["import", join(base, "rootfs.tar"), image]);

  const results: Record<string, { ckpt: number[]; peer: number[]; ckptBytes?: number; peerBytes?: number }> = {
    export: { ckpt: [], peer: [] },
    import: { ckpt: [], peer: [] },
    dir: { ckpt: [], peer: [] },
    inspect: { ckpt: [], peer: [] },
    migrate: { ckpt: [], peer: [] },
    lazy: { ckpt: [], peer: [] },
  };
  const ready = (logs: () => Promise<string>) => waitFor("the memory holder", async () => ((await logs()).includes("ready mib=") ? true : undefined));
  const logs = async () => (await ckpt(["logs", "bench"])).stdout;
  const verified = (logs: () => Promise<string>) => waitFor("the memory holder's verdict", async () => /verify (ok|MISMATCH)/.exec(await logs())?.[1]);

  for (let i = -warmups; i < runs; i++) {
    log(i < 0 ? "warm-up run (not counted)" : `run ${i + 1} of ${runs}`);
    if (i === 0) for (const r of Object.values(results)) (r.ckpt.length = 0), (r.peer.length = 0);
    const ckptArchives = async () => {
      // ckpt: export and import through a file, zstd.
      const archive = join(base, "ckpt.tar.zst");
      await ckpt(["run", "-d", "--name", "bench", bundle]);
      await ready(logs);
      results["export"]!.ckpt.push(await seconds(() => ckpt(["checkpoint", "--export", archive, "bench"])));
      results["export"]!.ckptBytes = (await stat(archive)).size;
      results["import"]!.ckpt.push(await seconds(() => ckpt(["restore", "--import", archive])));
      await ckpt(["exec", "bench", "--", "kill", "-USR1", "1"]);
      if ((await verified(logs)) !== "ok") throw new Error("ckpt: the memory came back altered");
      await ckpt(["rm", "-f", "bench"]);
      await rm(archive);
    };
    const podmanArchives = async () => {
      // podman: the same container, its export and import.
      const podArchive = join(base, "podman.tar.zst");
      await execa("podman", ["run", "-d", "--name", "bench", "--runtime", "runc", "--network", "none", "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024", image, "/usr/bin/memory-holder", String(mib)]);
      const podLogs = async () => (await execa("podman", ["logs", "bench"])).stdout;
      await ready(podLogs);
      results["export"]!.peer.push(await seconds(() => execa("podman", ["container", "checkpoint", "--export", podArchive, "bench"])));
      results["export"]!.peerBytes = (await stat(podArchive)).size;
      await execa("podman", ["rm", "-f", "bench"]);
      results["import"]!.peer.push(await seconds(() => execa("podman", ["container", "restore", "--import", podArchive])));
      await execa("podman", ["kill", "--signal", "USR1", "bench"]);
      if ((await verified(podLogs)) !== "ok") throw new Error("podman: the memory came back altered");
      await execa("podman", ["rm", "-f", "bench"]);
      await rm(podArchive);
    };
    const ckptDirectory = async () => {
      // To a directory on the same disk: ckpt's checkpoint into its store, and runc's own.
      await ckpt(["run", "-d", "--name", "bench", bundle]);
      await ready(logs);
      results["dir"]!.ckpt.push(await seconds(() => ckpt(["checkpoint", "bench"])));
      const stored = join(root, "checkpoints", "bench");
      const [stamp] = await readdir(stored);
      const checkpointDir = join(stored, stamp!);
      results["dir"]!.ckptBytes = Number((await execa("du", ["-sb", checkpointDir])).stdout.split("\t")[0]);

      // inspect of that checkpoint, and crit show of each image inspect decodes.
      results["inspect"]!.ckpt.push(await seconds(() => ckpt(["inspect", "--json", checkpointDir])));
      const images = join(checkpointDir, "checkpoint");
      const decoded = (await readdir(images)).filter((n) => /^(inventory|pstree|files|ids-\d+|core-\d+|mm-\d+|pagemap-\d+|fdinfo-\d+|timens-\d+)\.img$/.test(n));
      results["inspect"]!.peer.push(await seconds(async () => {
        for (const name of decoded) await execa("/usr/bin/python3", [crit, "show", join(images, name)], { env: { PYTHONPATH: critPath } });
        await execa("/usr/bin/python3", [crit, "show", join(checkpointDir, "stats-dump")], { env: { PYTHONPATH: critPath } });
      }));
      await ckpt(["rm", "-f", "bench"]);
      await rm(join(root, "checkpoints"), { recursive: true, force: true });
    };
    const runcDirectory = async () => {
      await ckpt(["run", "-d", "--name", "bench", bundle]);
      await ready(logs);
      const id = JSON.parse((await ckpt(["ps", "--json"])).stdout).find((c: { name: string }) => c.name === "bench").id as string;
      const runcImages = join(base, "runc-images");
      await rm(runcImages, { recursive: true, force: true });
      results["dir"]!.peer.push(await seconds(() => execa("runc", ["--root", join(root, "runtime", "runc"), "checkpoint", "--image-path", runcImages, "--work-path", join(base, "runc-work"), id])));
      results["dir"]!.peerBytes = Number((await execa("du", ["-sb", runcImages])).stdout.split("\t")[0]);
      await ckpt(["rm", "-f", "bench"]);
      await rm(runcImages, { recursive: true, force: true });
    };
    // Migration: ckpt's downtime (freeze to running on the target; here the target is a
    // second state root on this machine) against podman's export plus import.
    const ckptMigrate = async () => {
      await ckpt(["run", "-d", "--name", "bench", bundle]);
      await ready(logs);
      const moved = JSON.parse((await ckpt(["migrate", "bench", "--to", `${ckptBin} --root ${root2}`, "--json"])).stdout) as { downtimeNs: number };
      results["migrate"]!.ckpt.push(moved.downtimeNs / 1e9);
      await execa(ckptBin, ["--root", root2, "rm", "-f", "bench"], { env });
      // Post-copy over loopback: the downtime ends when the target runs it; the pages
      // follow from the page server.
      await ckpt(["run", "-d", "--name", "bench", bundle]);
      await ready(logs);
      const lazy = JSON.parse((await ckpt(["migrate", "bench", "--lazy", "--page-server", "127.0.0.1:27099", "--to", `${ckptBin} --root ${root2}`, "--json"])).stdout) as { downtimeNs: number };
      results["lazy"]!.ckpt.push(lazy.downtimeNs / 1e9);
      await execa(ckptBin, ["--root", root2, "rm", "-f", "bench"], { env });
    };
    // Whoever goes first in a pair touches fresh memory first; alternate.
    const pairs: [() => Promise<void>, () => Promise<void>][] = [
      [ckptArchives, podmanArchives],
      [ckptDirectory, runcDirectory],
    ];
    await ckptMigrate();
    for (const [mine, peer] of pairs) {
      if (i % 2 === 0) {
        await mine();
        await peer();
      } else {
        await peer();
        await mine();
      }
    }
  }

  // podman's migration is its export plus its import, run for run.
  results["migrate"]!.peer = results["export"]!.peer.map((e, i) => e + results["import"]!.peer[i]!);
  results["lazy"]!.peer = results["migrate"]!.peer;
  // A number is a ratio to the peer; [seconds] an absolute bound on ckpt's figure.
  const targets: Record<string, [string, number | [number]]> = {
    migrate: ["podman export + import (ckpt: downtime of ckpt migrate)", 0.5],
    lazy: ["podman export + import (ckpt: downtime of ckpt migrate --lazy)", [1.0]],
    export: ["podman container checkpoint --export", 0.5],
    import: ["podman container restore --import", 0.5],
    dir: ["runc checkpoint (same disk)", 1.1],
    inspect: ["crit show (the images inspect decodes)", 0.5],
  };
  const rows = [["operation", "ckpt (s)", "peer (s)", "peer", "ratio", "target", "ckpt size", "peer size"]];
  for (const [op, r] of Object.entries(results)) {
    const a = median(r.ckpt);
    const b = median(r.peer);
    const [peer, target] = targets[op]!;
    const size = (n?: number) => (n === undefined ? "" : `${(n / 1048576).toFixed(0)} MiB`);
    const verdict = typeof target === "number" ? `<= ${target} ${a / b <= target ? "met" : "MISSED"}` : `<= ${target[0]} s ${a <= target[0] ? "met" : "MISSED"}`;
    rows.push([op, a.toFixed(2), b.toFixed(2), peer, (a / b).toFixed(2), verdict, size(r.ckptBytes), size(r.peerBytes)]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  process.stdout.write(`medians of ${runs} runs after ${warmups} warm-up, ${mib} MiB resident (half random, half patterned), zstd\n`);
  for (const row of rows) process.stdout.write(`| ${row.map((c, i) => c.padEnd(widths[i]!)).join(" | ")} |\n`);
  await execa("podman", ["rmi", "-f", image], { reject: false });
  await rm(base, { recursive: true, force: true });
}

main().catch(async (error: unknown) => {
  process.stderr.write(`bench: failed: ${error instanceof Error ? error.message : String(error)}\n`);
  await ckpt(["rm", "-f", "bench"]).catch(() => {});
  await execa("podman", ["rm", "-f", "bench"], { reject: false });
  process.exitCode = 1;
});
