// Races: two ckpt commands at once on one container, started a random 0-400 ms apart.
// Exactly one wins or they serialise; nothing lost, nothing duplicated.
//   node test/soak/race.ts ROUNDS [SEED]
import { existsSync } from "node:fs";
import { appendFile, mkdir, readdir, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { execa } from "execa";
import { createBusyboxBundle } from "../harness/bundle.ts";
import { ckptBin } from "../harness/cli.ts";

const R = "/tmp/soak-race";
const OUT = process.env["SOAK_OUT"] ?? "/tmp/soak-out";
const rounds = Number(process.argv[2] ?? "20");
let seed = Number(process.argv[3] ?? "99");
const rand = () => ((seed = (seed * 1103515245 + 12345) % 2147483648), seed / 2147483648);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;

interface Res { code: number | undefined; out: string }
async function ck(args: string[]): Promise<Res> {
  const r = await execa(ckptBin, ["--root", R, ...args], { env: { CKPT_NODE: process.execPath }, reject: false });
  return { code: r.exitCode, out: `${r.stdout}\n${r.stderr}`.trim() };
}
async function ps(): Promise<{ name: string; status: string; id: string }[]> {
  return JSON.parse((await ck(["ps", "-a", "--json"])).out.split("\n").filter((l) => !l.startsWith("ckpt:")).join("\n")) as { name: string; status: string; id: string }[];
}
async function runcList(): Promise<{ id: string; status: string }[]> {
  const r = await execa("runc", ["--root", join(R, "runtime", "runc"), "list", "-f", "json"], { reject: false });
  return (JSON.parse(String(r.stdout) || "[]") ?? []) as { id: string; status: string }[];
}
async function conmons(name: string): Promise<number> {
  let n = 0;
  for (const p of (await readdir("/proc")).filter((x) => /^\d+$/.test(x))) {
    if ((await readFile(`/proc/${p}/comm`, "utf8").catch(() => "")).trim() !== "conmon") continue;
    if ((await readFile(`/proc/${p}/cmdline`, "utf8").catch(() => "")).includes(`${R}/containers/${name}/`)) n++;
  }
  return n;
}
async function countOf(name: string): Promise<number> {
  const spec = JSON.parse(await readFile(join(R, "containers", name, "bundle", "config.json"), "utf8").catch(() => "{}")) as { root?: { path?: string } };
  if (spec.root?.path === undefined) return -1;
  return Number((await readFile(join(spec.root.path, "tmp/count"), "utf8").catch(() => "-1")).trim());
}

const bundles: Record<string, string> = {};
async function ensureRunning(name: string) {
  const e = (await ps()).find((x) => x.name === name);
  if (e === undefined) {
    const r = await ck(["--runtime", "runc", "run", "-d", "--name", name, bundles[name]!]);
    if (r.code !== 0) throw new Error(`run ${name}: ${r.out}`);
  } else if (e.status !== "running") {
    const r = await ck(["restore", name]);
    if (r.code !== 0) throw new Error(`restore ${name}: ${r.out}`);
  }
}

type Race = "restore+restore" | "checkpoint+rm" | "checkpoint+restore" | "all+checkpoint" | "restoreall+restoreall" | "checkpoint+checkpointR" | "export+restore";
const violations: unknown[] = [];
async function violation(round: number, race: string, what: string, detail: unknown) {
  violations.push({ round, race, what, detail });
  console.log(`  VIOLATION ${what} ${JSON.stringify(detail).slice(0, 800)}`);
  await appendFile(join(OUT, "race-violations.jsonl"), `${JSON.stringify({ round, race, what, detail })}\n`);
}

async function main() {
  for (const n of await readdir(join(R, "containers")).catch(() => [] as string[])) await ck(["rm", "-f", n]);
  await rm(R, { recursive: true, force: true });
  await mkdir(OUT, { recursive: true });
  for (const name of ["r", "s"]) {
    bundles[name] = await createBusyboxBundle(join("/tmp/soak-race-bundles", name), {
      args: ["/bin/sh", "-c", `memory-holder 32 >/tmp/holder 2>&1 </dev/null & i=0; while :; do i=$((i+1)); echo $i > /tmp/count.new; mv /tmp/count.new /tmp/count; sleep 0.05; done </dev/null >/dev/null 2>&1`],
    });
  }
  const figures: Record<string, { rounds: number; outcomes: Record<string, number> }> = {};
  for (let round = 1; round <= rounds; round++) {
    const race = pick(["restore+restore", "checkpoint+rm", "checkpoint+restore", "all+checkpoint", "restoreall+restoreall", "checkpoint+checkpointR", "export+restore"] as const satisfies readonly Race[]);
    await ensureRunning("r");
    await ensureRunning("s");
    await sleep(300);
    let a: string[];
    let b: string[];
    if (race === "restore+restore" || race === "restoreall+restoreall") {
      const pre = race === "restore+restore" ? await ck(["checkpoint", "r"]) : await ck(["checkpoint", "--all"]);
      if (pre.code !== 0) await violation(round, race, "setup checkpoint failed", pre);
      [a, b] = race === "restore+restore" ? [["restore", "r"], ["restore", "r"]] : [["restore", "--all"], ["restore", "--all"]];
    } else if (race === "checkpoint+rm") [a, b] = [["checkpoint", "r"], ["rm", "-f", "r"]];
    else if (race === "checkpoint+restore") [a, b] = [["checkpoint", "r"], ["restore", "r"]];
    else if (race === "all+checkpoint") [a, b] = [["checkpoint", "--all"], ["checkpoint", "r"]];
    else if (race === "checkpoint+checkpointR") [a, b] = [["checkpoint", "r"], ["checkpoint", "-R", "r"]];
    else [a, b] = [["checkpoint", "--export", `/tmp/soak-race-${round}.tar.zst`, "r"], ["restore", "r"]];
    if (rand() < 0.5) [a, b] = [b, a];
    const gap = Math.floor(rand() * 400);
    const before = await countOf("r");
    const pa = ck(a);
    await sleep(gap);
    const pb = ck(b);
    const [ra, rb] = await Promise.all([pa, pb]);
    const entries = await ps();
    const r = entries.find((e) => e.name === "r");
    const list = await runcList();
    const rec = { round, race, a, b, gap, ra, rb, r: r?.status, runc: list.map((l) => `${l.id.slice(0, 8)}:${l.status}`), before };
    const outcome = `${ra.code}/${rb.code} -> ${r?.status ?? "gone"}`;
    const f = (figures[race] ??= { rounds: 0, outcomes: {} });
    f.rounds++;
    f.outcomes[outcome] = (f.outcomes[outcome] ?? 0) + 1;
    console.log(`#${round} ${race} [${a.join(" ")}] vs [${b.join(" ")}] gap=${gap}: ${outcome}`);
    for (const [x, res] of [[a, ra], [b, rb]] as const) {
      if (res.code !== 0 && res.code !== 9 && !(res.code === 4 && x[0] === "checkpoint")) await violation(round, race, `${x.join(" ")} exited ${res.code}`, rec);
      if (res.code === 1) await violation(round, race, "internal error", rec);
    }
    if (ra.code !== 0 && rb.code !== 0 && race !== "restoreall+restoreall") await violation(round, race, "neither command succeeded", rec);
    // Consistency: runtime containers, monitors, status.
    const running = entries.filter((e) => e.status === "running");
    if (list.length !== running.length) await violation(round, race, "runc's containers and ps disagree", { ...rec, entries });
    for (const e of entries) {
      if (["paused", "interrupted", "damaged"].includes(e.status)) await violation(round, race, `${e.name} is ${e.status}`, rec);
      const m = await conmons(e.name);
      if ((e.status === "running" ? 1 : 0) !== m) await violation(round, race, `${e.name} ${e.status} with ${m} monitors`, rec);
    }
    if (r === undefined && race !== "checkpoint+rm") await violation(round, race, "r is lost", rec);
    if (r?.status === "running" && before > 0) {
      await sleep(300);
      const now = await countOf("r");
      if (now < before) await violation(round, race, `the counter went back: ${before} -> ${now}`, rec);
    }
    if (r?.status === "exited" || r?.status === "created") await violation(round, race, `r left ${r.status}`, rec);
    for (const n of await readdir("/tmp")) if (n.startsWith(`.soak-race-${round}.tar.zst`)) await violation(round, race, `temp archive ${n}`, rec);
    const mounts = (await readFile("/proc/self/mountinfo", "utf8")).split("\n").filter((l) => l.includes(R) && !l.includes(" nsfs "));
    if (mounts.length > 0) await violation(round, race, "mounts", { mounts, rec });
    // An export that won leaves r stopped with its state in the archive: import it back.
    if (r?.status === "checkpointed" && existsExport(round)) {
      await ck(["rm", "-f", "r"]);
      const imp = await ck(["restore", "--import", `/tmp/soak-race-${round}.tar.zst`]);
      if (imp.code !== 0) await violation(round, race, "import of the winning export failed", { imp, rec });
    }
    await rm(`/tmp/soak-race-${round}.tar.zst`, { force: true });
  }
  console.log(JSON.stringify({ figures, violations: violations.length }, null, 2));
  for (const n of ["r", "s"]) await ck(["rm", "-f", n]);
}

function existsExport(round: number): boolean {
  return existsSync(`/tmp/soak-race-${round}.tar.zst`);
}

await main();
