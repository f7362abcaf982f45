// Compiles the C programs in test/fixtures into static binaries at test time (never
// committed), once per test process, into a directory removed when the process exits.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import { testResourcePrefix } from "./owner.ts";

export const programNames = ["clock-reporter", "file-lock", "memory-holder", "tcp-echo"] as const;
export type ProgramName = (typeof programNames)[number];

let built: Promise<Record<ProgramName, string>> | undefined;

// Absolute paths of the freshly built fixture programs.
export function fixturePrograms(): Promise<Record<ProgramName, string>> {
  built ??= build();
  return built;
}

async function build(): Promise<Record<ProgramName, string>> {
  const dir = mkdtempSync(join(tmpdir(), `${testResourcePrefix}bin-`));
  process.once("exit", () => rmSync(dir, { recursive: true, force: true }));
  const entries = await Promise.all(
    programNames.map(async (name) => {
      const source = fileURLToPath(new URL(`../fixtures/${name}.c`, import.meta.url));
      const out = join(dir, name);
      await execa("gcc", ["-static", "-O2", "-Wall", "-Wextra", "-Werror", "-o", out, source]);
      return [name, out] as const;
    }),
  );
  return Object.fromEntries(entries) as Record<ProgramName, string>;
}
