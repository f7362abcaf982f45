// Declares ckpt's commands and options. A command's code is imported only when that
// command runs, so `ckpt --help` and `ckpt --version` stay fast. The handler at the end
// is the only place that turns errors into messages and exit codes.
import { readFileSync } from "node:fs";
import { Command, CommanderError, Option } from "commander";
import { CkptError, ExitCode, exitCodeMeaning, ExitError } from "./errors.ts";
import { DEFAULT_ROOT, type GlobalOptions } from "./global-options.ts";

const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string };

function buildProgram(): Command {
  const program = new Command("ckpt")
    .description("Checkpoint and restore Linux containers with CRIU through runc and crun, on one clock.")
    .version(pkg.version, "-V, --version")
    .option("--root <dir>", "directory for ckpt's state", DEFAULT_ROOT)
    .addOption(new Option("--runtime <name>", "OCI runtime").choices(["runc", "crun"]))
    .option("--criu <path>", "CRIU binary to use")
    .option("--json", "machine-readable output")
    .option("--no-color", "no colours in output")
    .option("-v, --verbose", "say more about what happens")
    .showHelpAfterError("(run with --help for usage)")
    // Set before any subcommand is added: commander copies it to each one at creation.
    .exitOverride()
    .addHelpText("after", `\nExit codes:\n${Object.entries(exitCodeMeaning).map(([c, m]) => `  ${c.padStart(3)}  ${m}`).join("\n")}\n`);

  program
    .command("doctor")
    .description("check whether this host can checkpoint and restore containers, and how to fix what is missing")
    .option("--json", "print the report as JSON")
    .option("--facts", "print the raw probed host facts as JSON (for bug reports)")
    .action(async (_opts, cmd: Command) => {
      const { doctorCommand } = await import("./commands/doctor.ts");
      await doctorCommand(cmd.optsWithGlobals());
    });

  return program;
}

// Runs ckpt with `argv` and returns the exit code.
export async function main(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync([...argv]);
    return ExitCode.ok;
  } catch (error) {
    return handleError(error, program.opts<GlobalOptions>());
  }
}

function handleError(error: unknown, globals: GlobalOptions): number {
  if (error instanceof CommanderError) {
    // Help and version end with exit code 0; everything else commander rejects is usage.
    return error.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
  }
  if (error instanceof ExitError) return error.exitCode;
  if (error instanceof CkptError) {
    if (globals.json || process.argv.includes("--json")) {
      process.stderr.write(`${JSON.stringify({ error: { message: error.message, exitCode: error.exitCode, hint: error.hint ?? null, evidence: error.evidence } })}\n`);
    } else {
      const lines = [`ckpt: error: ${error.message}`, ...error.evidence.map((l) => `  ${l}`)];
      if (error.hint) lines.push(`hint: ${error.hint}`);
      process.stderr.write(`${lines.join("\n")}\n`);
    }
    return error.exitCode;
  }
  process.stderr.write(`ckpt: internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\nThis is a bug in ckpt; please report it with the command you ran.\n`);
  return ExitCode.internal;
}
