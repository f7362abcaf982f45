// The layering of src/ (issue 13): a module imports only from its own layer or the layers
// below it, never from above, and the lower domain modules never from restore/. Read from
// the import lines of every source file; the exceptions are listed with their reason.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const SRC = dirname(fileURLToPath(import.meta.url));

// Lowest first. A top-level file is its own unit ("cli", "main", "errors", ...).
const LAYERS: readonly (readonly string[])[] = [
  // Facts of the host and the program: no ckpt state.
  ["errors", "config", "oci", "host"],
  // ckpt's state on disk: containers' records, the layout of the root, atomic writes.
  ["store"],
  // The system ckpt drives: processes, CRIU, the OCI runtimes, networks, clocks, conmon.
  ["proc", "criu", "runtimes", "network", "clock", "monitor"],
  // The domain: containers, dumps and restores, archives, checkpoint images, signatures, restarts, the
  // journal, migration's page server and target check.
  ["container", "checkpoint", "restore", "archive", "image", "signing", "restart", "recovery", "migrate"],
  // What reports on or reworks checkpoints.
  ["inspect", "repair", "doctor"],
  // The orchestrators (issue 13's operations layer): checkpoint, export, restore, import,
  // migrate, the --all pair, intent records and recovery; the demo runs them.
  ["operations", "demo"],
  // Adapters: flags in, text out.
  ["commands", "output", "global-options"],
  ["cli", "main"],
];

// Within the domain layer: what the restore builds on never calls it (archive/ reads and
// writes the format, migrate/ serves pages and asks the target, recovery/ keeps the
// journal and the back-off); the orchestrators that do call it belong to operations/.
const FORBIDDEN: readonly { from: string; to: string }[] = [
  { from: "archive", to: "restore" },
  { from: "migrate", to: "restore" },
  { from: "recovery", to: "restore" },
];

// file (relative to src/) -> unit it may import against the rules, and why.
const EXCEPTIONS: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  "container/exec.ts": { output: "exec copies the process's output itself and must notice a closed stdout (output/broken-pipe.ts)" },
};

function unitOf(file: string): string {
  const parts = relative(SRC, file).split("/");
  return parts.length === 1 ? parts[0]!.replace(/\.ts$/, "") : parts[0]!;
}

function layerOf(unit: string): number {
  const i = LAYERS.findIndex((l) => l.includes(unit));
  assert.notEqual(i, -1, `${unit} is in no layer: add it to LAYERS in src/architecture.test.ts`);
  return i;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(path);
    return e.name.endsWith(".ts") && !e.name.endsWith(".test.ts") ? [path] : [];
  });
}

// The relative modules a file imports: static imports and exports, and import("...").
function importsOf(file: string): string[] {
  const text = readFileSync(file, "utf8");
  const specs = [...text.matchAll(/^\s*(?:import|export)\b[^;]*?\bfrom\s+"(\.{1,2}\/[^"]+)"/gm), ...text.matchAll(/\bimport\(\s*"(\.{1,2}\/[^"]+)"\s*\)/g)].map((m) => m[1]!);
  return specs.map((s) => resolve(dirname(file), s));
}

interface Edge {
  file: string;
  from: string;
  to: string;
}

function crossUnitEdges(): Edge[] {
  return sourceFiles(SRC).flatMap((file) =>
    importsOf(file)
      .map((target) => ({ file: relative(SRC, file), from: unitOf(file), to: unitOf(target) }))
      .filter((e) => e.from !== e.to),
  );
}

function broken(edge: Edge): boolean {
  return layerOf(edge.to) > layerOf(edge.from) || FORBIDDEN.some((f) => f.from === edge.from && f.to === edge.to);
}

test("every unit of src/ has a layer", () => {
  const units = new Set(sourceFiles(SRC).map(unitOf));
  for (const unit of units) layerOf(unit);
});

test("no module imports from a layer above its own, nor archive/, migrate/ or recovery/ from restore/", () => {
  const violations = crossUnitEdges()
    .filter(broken)
    .filter((e) => EXCEPTIONS[e.file]?.[e.to] === undefined)
    .map((e) => `${e.file} imports ${e.to}/ (layer ${layerOf(e.to)} above ${e.from}'s ${layerOf(e.from)})`);
  assert.deepEqual([...new Set(violations)], []);
});

test("every listed exception is still needed (remove it once the import is gone)", () => {
  const edges = crossUnitEdges().filter(broken);
  for (const [file, units] of Object.entries(EXCEPTIONS)) {
    for (const unit of Object.keys(units)) assert.ok(edges.some((e) => e.file === file && e.to === unit), `${file} -> ${unit} no longer breaks the layering: remove the exception`);
  }
});

test("every command's action in cli.ts receives the resolved settings (opts(cmd)), none reads its options without them", () => {
  const cli = readFileSync(join(SRC, "cli.ts"), "utf8");
  const bare = cli.split("\n").map((line, i) => [i + 1, line] as const).filter(([, line]) => /cmd\.optsWithGlobals\(/.test(line) && !/return \{ \.\.\.cmd\.optsWithGlobals/.test(line));
  assert.deepEqual(bare.map(([n, line]) => `cli.ts:${n}: ${line.trim()}`), []);
});
