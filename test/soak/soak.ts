// Crash-safety soak: kill -9 of ckpt at random instants of random operations, each followed
// by the next ordinary command (or recover), with the invariants checked after each.
//   node test/soak/soak.ts ITERATIONS [SEED]
// State roots under /tmp/soak-*; a log of every iteration in /tmp/soak-out/log.jsonl and
// every violation in /tmp/soak-out/violations.jsonl.
import { existsSync } from "node:fs";
import { appendFile, mkdir, readdir, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { execa } from "execa";
import { createBusyboxBundle } from "../harness/bundle.ts";
import { ckptBin } from "../harness/cli.ts";
import { parseStagingName, stagingRootTag } from "../../src/archive/staging.ts";

const R = "/tmp/soak-root";
const R2 = "/tmp/soak-root2";
const EXP = "/tmp/soak-exp";
const OUT = process.env["SOAK_OUT"] ?? "/tmp/soak-out";
const BUNDLES = "/tmp/soak-bundles";
const iterations = Number(process.argv[2] ?? "40");
let seed = Number(process.argv[3] ?? Date.now() % 100000);
function rand(): number {
  seed = (seed * 1103515245 + 12345) % 2147483648;
  return seed / 2147483648;
}
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;

interface Res { code: number | undefined; stdout: string; stderr: string }
async function ck(root: string, args: string[], env: Record<string, string> = {}): Promise<Res> {
  const r = await execa(ckptBin, ["--root", root, ...args], { env: { CKPT_NODE: process.execPath, ...env }, reject: false });
  return { code: r.exitCode, stdout: String(r.stdout), stderr: String(r.stderr) };
}
interface PsEntry { name: string; status: string; pid: number | null; bundle: string; operation: { kind: string; phase: string; interrupted: boolean; ownerPid: number } | null }
async function ps(root: string): Promise<PsEntry[]> {
  const r = await ck(root, ["ps", "-a", "--json"]);
  try { return JSON.parse(r.stdout) as PsEntry[]; } catch { throw new Error(`ps failed: ${r.code} ${r.stderr}`); }
}
async function entry(root: string, name: string): Promise<PsEntry | undefined> {
  return (await ps(root)).find((e) => e.name === name);
}
async function countFile(root: string, name: string): Promise<string | null> {
  const e = await entry(root, name);
  if (e === undefined) return null;
  const spec = JSON.parse(await readFile(join(root, "containers", name, "bundle", "config.json"), "utf8").catch(() => "{}")) as { root?: { path?: string } };
  const rootfs = spec.root?.path;
  if (rootfs === undefined) return null;
  return join(rootfs.startsWith("/") ? rootfs : join(e.bundle, rootfs), "tmp/count");
}
async function count(file: string | null): Promise<number> {
  if (file === null) return -1;
  return Number((await readFile(file, "utf8").catch(() => "-1")).trim() || "-1");
}

const log = async (o: unknown) => appendFile(join(OUT, "log.jsonl"), `${JSON.stringify(o)}\n`);
const violations: unknown[] = [];
async function violation(iter: unknown, what: string, detail: unknown) {
  const v = { iter, what, detail };
  violations.push(v);
  console.log(`  VIOLATION: ${what} ${JSON.stringify(detail).slice(0, 600)}`);
  await appendFile(join(OUT, "violations.jsonl"), `${JSON.stringify(v)}\n`);
}

async function pidAlive(pid: number): Promise<boolean> {
  const s = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => null);
  return s !== null && s.split(") ")[1]?.[0] !== "Z";
}

// Processes whose command line names one of our roots.
async function ourProcesses(): Promise<{ pid: number; comm: string; cmd: string }[]> {
  const out = [];
  for (const p of (await readdir("/proc")).filter((n) => /^\d+$/.test(n))) {
    const cmd = (await readFile(`/proc/${p}/cmdline`, "utf8").catch(() => "")).split("\0").join(" ");
    if (!cmd.includes("/tmp/soak-root")) continue;
    if (Number(p) === process.pid) continue;
    const comm = (await readFile(`/proc/${p}/comm`, "utf8").catch(() => "")).trim();
    out.push({ pid: Number(p), comm, cmd: cmd.slice(0, 3000) });
  }
  return out;
}

async function criuProcesses(): Promise<number[]> {
  const out = [];
  for (const p of (await readdir("/proc")).filter((n) => /^\d+$/.test(n))) {
    if ((await readFile(`/proc/${p}/comm`, "utf8").catch(() => "")).trim() !== "criu") continue;
    out.push(Number(p));
  }
  return out;
}

async function runcList(root: string): Promise<{ id: string; status: string; bundle: string }[]> {
  const r = await execa("runc", ["--root", join(root, "runtime", "runc"), "list", "-f", "json"], { reject: false });
  try { return (JSON.parse(String(r.stdout)) ?? []) as { id: string; status: string; bundle: string }[]; } catch { return []; }
}

// Leftovers after recovery: staging of dead owners, temporaries, partial dirs, mounts, processes.
async function leftovers(): Promise<string[]> {
  const found: string[] = [];
  for (const root of [R, R2]) {
    const tag = stagingRootTag(root);
    for (const n of await readdir("/dev/shm").catch(() => [] as string[])) {
      const s = parseStagingName(n);
      if (s === null || s.rootTag !== tag) continue;
      if (s.pid !== null && (await pidAlive(s.pid))) continue;
      found.push(`staging /dev/shm/${n}`);
    }
    for (const n of await readdir(join(root, "staging")).catch(() => [] as string[])) found.push(`staging ${root}/staging/${n}`);
    for (const c of await readdir(join(root, "checkpoints")).catch(() => [] as string[]))
      for (const d of await readdir(join(root, "checkpoints", c)).catch(() => [] as string[])) if (d.endsWith(".partial")) found.push(`partial ${root}/checkpoints/${c}/${d}`);
    for (const c of await readdir(join(root, "containers")).catch(() => [] as string[]))
      if (existsSync(join(root, "containers", c, "operation.json"))) found.push(`intent ${root}/containers/${c}/operation.json`);
  }
  for (const n of await readdir(EXP).catch(() => [] as string[])) if (!/^c-\d+\.tar\.zst$/.test(n)) found.push(`temp archive ${EXP}/${n}`);
  const mounts = (await readFile("/proc/self/mountinfo", "utf8")).split("\n").filter((l) => l.includes("/tmp/soak"));
  const existing = new Set<string>();
  for (const root of [R, R2]) for (const e of await ps(root).catch(() => [] as PsEntry[])) existing.add(`${root}/containers/${e.name}/netns`);
  for (const m of mounts) if (!(m.includes(" nsfs ") && [...existing].some((x) => m.includes(` ${x} `)))) found.push(`mount ${m}`);
  for (const p of await ourProcesses()) if (p.comm !== "conmon" && p.comm !== "node") found.push(`process ${p.pid} ${p.comm}: ${p.cmd}`);
  // ckpt processes (node) of ours still running: the soak waits for its own children.
  for (const p of await ourProcesses()) if (p.comm === "node" || p.comm === "ckpt") found.push(`ckpt process ${p.pid}: ${p.cmd}`);
  return found;
}

// Consistency of the runtime's containers and monitors with ps: running ones have one
// runtime container and one monitor; others none.
async function consistency(): Promise<string[]> {
  const found: string[] = [];
  for (const root of [R, R2]) {
    const entries = await ps(root).catch(() => [] as PsEntry[]);
    const list = await runcList(root);
    const conmons = (await ourProcesses()).filter((p) => p.comm === "conmon" && p.cmd.includes(`${root}/`));
    for (const e of entries) {
      if (e.status === "paused") found.push(`${root} ${e.name} paused`);
      if (e.status === "interrupted") found.push(`${root} ${e.name} still interrupted`);
      const mon = conmons.filter((p) => p.cmd.includes(`${root}/containers/${e.name}/`) || p.cmd.includes(`${root}/containers/${e.name} `));
      if (e.status === "running" && mon.length !== 1) found.push(`${root} ${e.name} running with ${mon.length} monitors`);
      if (e.status !== "running" && mon.length !== 0) found.push(`${root} ${e.name} ${e.status} with ${mon.length} monitors`);
    }
    const running = entries.filter((e) => e.status === "running").length;
    if (list.length !== running) found.push(`${root}: runc lists ${list.length} (${list.map((l) => l.status).join(",")}) but ps has ${running} running`);
  }
  return found;
}

// The counter must go on beyond `atLeast` and never show a value below it.
async function counterGoesOn(root: string, name: string, atLeast: number): Promise<{ ok: boolean; min: number; last: number }> {
  const file = await countFile(root, name);
  let min = Infinity;
  let last = -1;
  const end = Date.now() + 2000;
  while (Date.now() < end) {
    const n = await count(file);
    if (n >= 0) {
      if (n !== atLeast) min = Math.min(min, n);
      last = n;
    }
    await sleep(10);
  }
  return { ok: last > atLeast && !(min < atLeast), min, last };
}

async function waitNoTargetRestore(): Promise<void> {
  for (let i = 0; i < 300; i++) {
    const ps = (await ourProcesses()).filter((p) => p.cmd.includes(`--root ${R2} restore`) || p.cmd.includes(`--root ${R} restore --import -`));
    if (ps.length === 0) return;
    await sleep(200);
  }
}

async function setup() {
  for (const d of [R, R2]) {
    const names = await readdir(join(d, "containers")).catch(() => [] as string[]);
    if (names.length > 0) await ck(d, ["rm", "-f", ...names]);
  }
  await rm(R, { recursive: true, force: true });
  await rm(R2, { recursive: true, force: true });
  await rm(EXP, { recursive: true, force: true });
  await rm(BUNDLES, { recursive: true, force: true });
  await mkdir(OUT, { recursive: true });
  await mkdir(EXP, { recursive: true });
  for (const [name, mib] of [["c", 48], ["d", 8]] as const) {
    const bundle = await createBusyboxBundle(join(BUNDLES, name), {
      args: ["/bin/sh", "-c", `memory-holder ${mib} >/tmp/holder 2>&1 </dev/null & i=0; while :; do i=$((i+1)); echo $i > /tmp/count.new; mv /tmp/count.new /tmp/count; sleep 0.05; done </dev/null >/dev/null 2>&1`],
    });
    const r = await ck(R, ["--runtime", "runc", "run", "-d", "--name", name, bundle]);
    if (r.code !== 0) throw new Error(`run ${name}: ${r.stderr}`);
  }
  await sleep(1500);
}

type Op = "checkpoint" | "checkpoint-R" | "export" | "migrate" | "checkpoint-all" | "restore" | "restore-all" | "import";
const phasesOf: Record<Op, string[]> = {
  checkpoint: ["prepared", "dumping", "dumped"],
  "checkpoint-R": ["prepared", "dumping", "dumped"],
  export: ["prepared", "dumping", "dumped", "archiving"],
  migrate: ["prepared", "dumping", "dumped", "archiving"],
  "checkpoint-all": ["dumping", "dumped"],
  restore: ["prepared", "restoring", "restored"],
  "restore-all": ["prepared", "restoring", "restored"],
  import: ["prepared", "restoring", "restored"],
};

let lastArchive: string | null = null;
let journalFresh = false;
let lastArchiveCount = -1;
// The counter when c was left checkpointed, for the next iteration's check.
let carried = -1;
const figures: Record<string, { runs: number; killed: number; completed: number; violations: number }> = {};

async function iteration(iter: number) {
  const c = await entry(R, "c");
  const d = await entry(R, "d");
  let op: Op;
  if (c === undefined) op = "import";
  else if (c.status === "running") op = pick(["checkpoint", "checkpoint-R", "export", "export", "migrate", "checkpoint-all"] as const);
  else if (c.status === "checkpointed") op = journalFresh && d?.status === "checkpointed" && rand() < 0.6 ? "restore-all" : "restore";
  else throw new Error(`unexpected state of c: ${JSON.stringify(c)}`);
  if (op === "checkpoint-all" && d?.status !== "running") op = "checkpoint";
  const archive = join(EXP, `c-${iter}.tar.zst`);
  const args: Record<Op, string[]> = {
    checkpoint: ["checkpoint", "c"],
    "checkpoint-R": ["checkpoint", "--leave-running", "c"],
    export: ["checkpoint", "--export", archive, "c"],
    migrate: ["migrate", "c", "--to", `${ckptBin} --root ${R2}`],
    "checkpoint-all": ["checkpoint", "--all"],
    restore: ["restore", "c"],
    "restore-all": ["restore", "--all"],
    import: ["restore", "--import", lastArchive ?? "/nonexistent"],
  };
  const mode = pick(["tiny", "uniform", "uniform", "phase", "phase"] as const);
  const phase = pick(phasesOf[op]);
  const fileBefore = await countFile(R, "c");
  const before = await count(fileBefore);
  const started = Date.now();
  const child = execa(ckptBin, ["--root", R, ...args[op]], { env: { CKPT_NODE: process.execPath }, reject: false });
  let exited = false;
  const done = child.then((r) => { exited = true; return r; });
  let delay = 0;
  if (mode === "tiny") delay = 10 + Math.floor(rand() * 40);
  else if (mode === "uniform") delay = Math.floor(rand() * 3000);
  if (mode === "phase") {
    const deadline = Date.now() + 30_000;
    const names = op.endsWith("all") ? ["c", "d"] : ["c"];
    outer: while (!exited && Date.now() < deadline) {
      for (const n of names) {
        const t = await readFile(join(R, "containers", n, "operation.json"), "utf8").catch(() => "");
        if (t.includes(`"phase": "${phase}"`)) break outer;
      }
      await sleep(3);
    }
    delay = Math.floor(rand() * 30);
  }
  await Promise.race([sleep(delay), done]);
  let killed = false;
  if (!exited) {
    process.kill(child.pid!, "SIGKILL");
    killed = true;
  }
  const result = await done;
  const killedAfterMs = Date.now() - started;
  let atKill = await count(await countFile(R, "c").catch(() => fileBefore));
  if (op === "import") atKill = Math.max(atKill, lastArchiveCount);
  const f = (figures[op] ??= { runs: 0, killed: 0, completed: 0, violations: 0 });
  f.runs++;
  if (killed) f.killed++;
  else f.completed++;
  const nBefore = violations.length;
  const rec: Record<string, unknown> = { iter, op, args: args[op], mode, phase: mode === "phase" ? phase : undefined, delay, killedAfterMs, killed, exit: result.exitCode, stderr: String(result.stderr).slice(-800), before, atKill };
  console.log(`#${iter} ${op} mode=${mode}${mode === "phase" ? `:${phase}` : ""} delay=${delay} after=${killedAfterMs}ms ${killed ? "KILLED" : `exit ${result.exitCode}`} count ${before}->${atKill}`);
  if (!killed && result.exitCode !== 0) await violation(iter, `${op} exited ${result.exitCode} without a kill`, rec);

  // The intent record left, and what ps says about it.
  const intents: Record<string, string> = {};
  for (const n of ["c", "d"]) {
    const t = await readFile(join(R, "containers", n, "operation.json"), "utf8").catch(() => null);
    if (t !== null) intents[n] = t;
  }
  rec["intents"] = Object.fromEntries(Object.entries(intents).map(([k, v]) => [k, (JSON.parse(v) as { operation: string; phase: string }).phase]));
  const psAfterKill = await ps(R);
  rec["psAfterKill"] = psAfterKill.map((e) => [e.name, e.status, e.operation?.phase ?? null]);
  for (const [n] of Object.entries(intents)) {
    const e = psAfterKill.find((x) => x.name === n);
    if (e?.status !== "interrupted" && !(await ownerAliveOf(intents[n]!))) await violation(iter, `ps -a shows ${n} as ${e?.status} while an intent of a dead owner exists`, rec);
  }
  if (op === "migrate") await waitNoTargetRestore();

  // The next ordinary command, or recover.
  const how = pick(["recover", "ordinary"] as const);
  rec["recovery"] = how;
  const cNow = psAfterKill.find((e) => e.name === "c");
  let recoverOut = "";
  if (how === "recover") {
    const r = await ck(R, ["recover"]);
    recoverOut = r.stdout + r.stderr;
    if (r.code !== 0) await violation(iter, `recover exited ${r.code}`, { ...rec, recoverOut });
  } else {
    // restore if it is not running, exec if it is.
    const r = cNow === undefined ? null : cNow.status === "running" ? await ck(R, ["exec", "c", "--", "true"]) : await ck(R, ["restore", "c"]);
    recoverOut = r === null ? "" : r.stdout + r.stderr;
    rec["ordinaryExit"] = r?.code;
    // d, and the staging sweep.
    const r2 = await ck(R, ["recover"]);
    recoverOut += `\n--recover:\n${r2.stdout}${r2.stderr}`;
  }
  rec["recoverOut"] = recoverOut.slice(0, 2000);
  if (Object.keys(intents).length > 0 && !/recovered|interrupted/.test(recoverOut)) await violation(iter, "an interrupted operation was recovered without a word", rec);
  if (/Error|internal error/i.test(recoverOut) && /exit|internal/.test(recoverOut)) rec["recoverError"] = true;

  // Migration: if the target has c, bring it back (the source must not run too).
  if (op === "migrate") {
    const t = await entry(R2, "c");
    const s = await entry(R, "c");
    rec["migrate"] = { target: t?.status ?? null, source: s?.status ?? null };
    if (t?.status === "running" && s?.status === "running") await violation(iter, "migrate: the container runs on both source and target", rec);
    if (t !== undefined && t.status === "running") {
      if (s !== undefined) {
        const rr = await ck(R, ["rm", "-f", "c"]);
        if (rr.code !== 0) await violation(iter, "rm -f of the migrated source failed", { rr });
      }
      const back = await ck(R2, ["migrate", "c", "--to", `${ckptBin} --root ${R}`]);
      if (back.code !== 0) await violation(iter, "migrating back failed", { back });
    } else if (t !== undefined) {
      await violation(iter, `migrate: target left c as ${t.status}`, rec);
      await ck(R2, ["rm", "-f", "c"]);
    }
  }

  // Bring everything back to running; nothing may say "no checkpoint" after a dump.
  let leaveForAll = false;
  for (const n of ["c", "d"]) {
    const e = await entry(R, n);
    if (e === undefined) {
      if (n === "c" && op === "export" && lastArchiveOf(archive)) continue; // exported, stopped, archive complete: import next
      if (n === "c" && op === "import") {
        // The import was undone; import again.
        const r = await ck(R, ["restore", "--import", lastArchive!]);
        if (r.code !== 0) await violation(iter, "import again after an interrupted import failed", { r, rec });
        continue;
      }
      await violation(iter, `container ${n} is lost`, rec);
      continue;
    }
    if (e.status === "running") continue;
    if (n === "c" && op === "export" && lastArchiveOf(archive)) {
      // The export completed: the container's state is in the archive; import it next.
      const rr = await ck(R, ["rm", "-f", "c"]);
      if (rr.code !== 0) await violation(iter, "rm -f after export failed", { rr });
      continue;
    }
    if (op === "checkpoint-all" && e.status === "checkpointed" && (!killed || rand() < 0.5)) {
      // Left for restore --all, which the next iteration runs (the journal lists it).
      leaveForAll = true;
      continue;
    }
    if (n === "c" && e.status === "checkpointed" && rand() < 0.5) {
      // Left checkpointed: the next iteration's operation is a restore (killed).
      continue;
    }
    const r = await ck(R, ["restore", n]);
    rec[`restore-${n}`] = { code: r.code, out: (r.stdout + r.stderr).slice(0, 1200) };
    if (r.code !== 0) await violation(iter, `restore ${n} after recovery exited ${r.code}`, rec);
  }
  journalFresh = leaveForAll;
  if (op === "export" && lastArchiveOf(archive)) {
    lastArchive = archive;
    lastArchiveCount = atKill;
  }

  const cAfter = await entry(R, "c");
  if (cAfter?.status === "checkpointed") carried = atKill;
  else if (cAfter?.status === "running") {
    if (carried > atKill) atKill = carried;
    carried = -1;
    const said = /state since that restore is lost|restore it deliberately/.test(JSON.stringify(rec));
    const g = await counterGoesOn(R, "c", atKill);
    rec["counter"] = g;
    if (!g.ok && !said) await violation(iter, `the counter went back or stalled (at kill ${atKill}, then min ${g.min}, last ${g.last})`, rec);
    if (!g.ok && said) rec["declaredRollback"] = true;
  }
  // Leftovers and consistency.
  await sleep(200);
  const left = await leftovers();
  if (left.length > 0) await violation(iter, "leftovers after recovery", { left, rec });
  const inc = await consistency();
  if (inc.length > 0) await violation(iter, "inconsistent state after recovery", { inc, rec });
  const criu = await criuProcesses();
  if (criu.length > 0) rec["criuProcesses"] = criu;
  f.violations += violations.length - nBefore;
  await log(rec);
}

function lastArchiveOf(archive: string): boolean {
  return existsSync(archive);
}

async function ownerAliveOf(text: string): Promise<boolean> {
  const pid = (JSON.parse(text) as { owner: { pid: number } }).owner.pid;
  return pidAlive(pid);
}

await setup();
const t0 = Date.now();
for (let i = 1; i <= iterations; i++) {
  try {
    await iteration(i);
  } catch (error) {
    await violation(i, "soak iteration failed", String((error as Error).stack));
    // Try to get back to a known state.
    for (const n of ["c", "d"]) {
      const e = await entry(R, n).catch(() => undefined);
      if (e !== undefined && e.status !== "running") await ck(R, ["restore", n]);
    }
  }
}
console.log(JSON.stringify({ seconds: Math.round((Date.now() - t0) / 1000), figures, violations: violations.length }, null, 2));
await appendFile(join(OUT, "summary.json"), `${JSON.stringify({ seed: process.argv[3], figures, violations: violations.length })}\n`);
