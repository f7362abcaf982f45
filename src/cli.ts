// Declares ckpt's commands and options. A command's code is imported only when that
// command runs, so `ckpt --help` and `ckpt --version` stay fast. The handler at the end
// is the only place that turns errors into messages and exit codes.
import { readFileSync } from "node:fs";
import { Command, CommanderError, Option, type OptionValues } from "commander";
import { CkptError, ExitCode, exitCodeMeaning, ExitError } from "./errors.ts";
import { errorJson, errorLines } from "./output/error-text.ts";
import { timeModes } from "./clock/restore-plan.ts";
import { compressions } from "./archive/compression.ts";
import { DEFAULT_ROOT, type GlobalOptions } from "./global-options.ts";
import { EXIT_HANDLER_COMMAND, WAITER_COMMAND } from "./restart/exit-command.ts";
import { CHECK_RESTORE_COMMAND } from "./migrate/target-check.ts";
import { allowableKinds } from "./restore/spec-policy.ts";
import type { Settings } from "./config/resolve.ts";

const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string };

// --allow KIND, repeatable (restore/spec-policy.ts).
function parseAllow(v: string, prev: string[] = []): string[] {
  if (!(allowableKinds as readonly string[]).includes(v)) throw new CkptError(ExitCode.usage, `--allow ${v}: unknown kind`, { hint: `one of: ${allowableKinds.join(", ")}` });
  return [...prev, v];
}

// The network flags of `run` and `restore` (src/commands/network-flags.ts).
function addNetworkOptions(command: Command, modeDefault: string): void {
  command
    .option("--network <mode>", `none (own namespace, loopback only), private (loopback plus --ip on a veth), host, or ns:PATH (join a namespace you manage); ${modeDefault}`)
    .option("--ip <addr/prefix>", "with --network private: an address of the container's eth0, e.g. 192.0.2.50/24 (repeatable)", (v: string, prev: string[] = []) => [...prev, v])
    .option("--gateway <addr>", "with --ip: the container's default route (an address of eth0's subnet)")
    .option("--bridge <name>", "with --ip: put the host's end of the veth on this bridge")
    .option("--mac-address <mac>", "with --ip: eth0's MAC address (default: derived from the container id, kept across restores)")
    .option("--mtu <bytes>", "with --ip: the veth's MTU (68 to 65535)", (v: string) => (/^\d+$/.test(v) ? Number(v) : Number.NaN));
}

// The flags typed on the command line (not commander's defaults), by long name ("--root"),
// from the command that runs and the commands above it; the nearest wins.
function typedFlags(command: Command): Map<string, unknown> {
  const typed = new Map<string, unknown>();
  for (let cmd: Command | null = command; cmd !== null; cmd = cmd.parent) {
    for (const option of cmd.options) {
      const key = option.attributeName();
      if (option.long !== undefined && !typed.has(option.long) && cmd.getOptionValueSource(key) === "cli") typed.set(option.long, cmd.getOptionValue(key));
    }
  }
  return typed;
}

function buildProgram(): Command {
  const program = new Command("ckpt")
    .description("Checkpoint and restore Linux containers with CRIU through runc and crun, on one clock.")
    .version(pkg.version, "-V, --version")
    .option("--root <dir>", `directory for ckpt's state (default ${DEFAULT_ROOT}; CKPT_ROOT)`)
    .option("--runtime <name>", "OCI runtime: runc, crun, or a name from the runtimes setting (CKPT_RUNTIME)")
    .option("--runtime-path <path>", "the runtime's binary, e.g. a runc of your own beside the system's; its kind is read from its --version (CKPT_RUNTIME_PATH)")
    .option("--criu <path>", "CRIU binary to use by ckpt, runc and crun: a link to it goes first on PATH (CKPT_CRIU)")
    .option("--config <file>", "config file (default /etc/ckpt/config.json; CKPT_CONFIG)")
    .option("--lock-timeout <duration>", "how long to wait for a container another ckpt command is working on, then exit 9 naming it (default 5s; CKPT_LOCK_TIMEOUT)")
    .option("--json", "machine-readable output")
    .option("--no-color", "no colours in output")
    .option("-v, --verbose", "say more about what happens")
    .showHelpAfterError("(run with --help for usage)")
    // Set before any subcommand is added: commander copies it to each one at creation.
    .exitOverride()
    .addHelpText("after", `\nLocks: a command that changes a container holds its lock; another command on it waits\nup to --lock-timeout (default 5s), then exits 9 naming the holder. A killed ckpt's locks\nare free at once.\n\nExit codes:\n${Object.entries(exitCodeMeaning).map(([c, m]) => `  ${c.padStart(3)}  ${m}`).join("\n")}\n`);

  // Every setting is resolved once, before the command's action runs (not for --help),
  // from the flags typed on the command line (the program's and the command's own),
  // the environment, the config file (--config, CKPT_CONFIG or the default) and the
  // defaults; each action hands the result to its command.
  let settings: Settings | undefined;
  program.hook("preAction", async (_program, actionCommand) => {
    const { loadSettings } = await import("./config/load.ts");
    const { settingFlags } = await import("./config/resolve.ts");
    settings = await loadSettings(settingFlags(typedFlags(actionCommand)));
    // A --runtime that names no runtime is a usage error whatever the command.
    const { planRuntimeChoice, runtimeSelection } = await import("./runtimes/choice.ts");
    planRuntimeChoice(runtimeSelection(settings));
    // doctor reports a bad --criu itself; every other command uses it or refuses.
    if (actionCommand.name() !== "doctor") {
      const { putCriuFirstOnPath } = await import("./criu/criu-path.ts");
      putCriuFirstOnPath(settings.criu);
    }
  });
  // The options of the command that runs, with the settings.
  const opts = <T extends object = OptionValues>(cmd: Command): T & GlobalOptions => {
    if (settings === undefined) throw new Error("the settings were not resolved before the command ran");
    return { ...cmd.optsWithGlobals<T>(), settings, lockTimeoutMs: settings.lockTimeout.value };
  };

  program
    .command("config")
    .description("print the effective configuration and where each value comes from (flag, environment, config file, default)")
    .option("--json", "print it as JSON (durations in milliseconds)")
    .addHelpText(
      "after",
      `
The config file (/etc/ckpt/config.json, or --config / CKPT_CONFIG) is one JSON object, e.g.
  { "root": "/var/lib/ckpt", "parallel": 2, "progressTimeout": "2m", "backoffMax": "5m" }
Every setting is also an environment variable and a flag; a flag wins over the
environment, which wins over the file.
`,
    )
    .action(async (_opts, cmd: Command) => {
      const { configCommand } = await import("./commands/config.ts");
      await configCommand(opts(cmd));
    });

  program
    .command("doctor")
    .description("check whether this host can checkpoint and restore containers, and how to fix what is missing")
    .option("--json", "print the report as JSON")
    .option("--facts", "print the raw probed host facts as JSON (for bug reports)")
    .action(async (_opts, cmd: Command) => {
      const { doctorCommand } = await import("./commands/doctor.ts");
      await doctorCommand(opts(cmd));
    });

  const runCommand = program
    .command("run")
    .description("create and start a container from an OCI bundle under a monitor that keeps it checkpointable")
    .argument("<bundle>", "OCI bundle directory (config.json and its root filesystem)")
    .argument("[command...]", "command to run instead of the bundle's process.args (after --)")
    .option("--name <name>", "name of the container (default: ckpt-<id prefix>)")
    .option("-d, --detach", "run in the background and print the container id")
    .option("--json", "print the new container as JSON")
    .option("--restart <policy>", "start it again when it exits: no, on-failure[:N] (non-zero exit; at most N restarts in a row) or always; never after ckpt stop, rm or checkpoint", "no")
    .option("--backoff-initial <duration>", "with --restart: delay before the first restart (default 10s; CKPT_BACKOFF_INITIAL)")
    .option("--backoff-max <duration>", "with --restart: longest delay; it doubles after each failure up to this (default 5m; CKPT_BACKOFF_MAX)")
    .option("--backoff-reset <duration>", "with --restart: running this long without failing starts the delays over (default 10m; CKPT_BACKOFF_RESET)");
  addNetworkOptions(runCommand, "default: private when the spec asks for a network namespace, else host");
  runCommand
    .addHelpText("after", "\nExamples:\n  ckpt run -d --name web ./bundle -- /bin/sh -c 'while sleep 1; do date; done'\n  ckpt run -d --name worker --restart on-failure:5 ./bundle\n  ckpt run -d --name api --network private --ip 192.0.2.50/24 --gateway 192.0.2.1 --bridge br0 ./bundle\n\nNetworking: a private namespace is ckpt's; it is built again, identical, before every\nrestore, here or on a migration's target, so listeners and connections keep their addresses.\n")
    .action(async (bundle: string, command: string[], _opts, cmd: Command) => {
      const { runCommand: run } = await import("./commands/run.ts");
      await run(bundle, command, opts(cmd));
    });

  program
    .command("ps")
    .description("list containers")
    .option("-a, --all", "also list exited and checkpointed containers")
    .option("--json", "print an array of containers as JSON")
    .action(async (_opts, cmd: Command) => {
      const { psCommand } = await import("./commands/ps.ts");
      await psCommand(opts(cmd));
    });

  program
    .command("exec")
    .description("run a command in a running container, on the same clock as its PID 1")
    .argument("<name>", "container")
    .argument("<command...>", "command and arguments (after --)")
    .option("-d, --detach", "start it in the background inside PID 1's process tree; its output goes to the container log")
    .option("--json", "print the exec result as JSON (the command's output goes to stderr)")
    .addHelpText("after", "\nThe exit code is the command's own.\n\nExample:\n  ckpt exec web -- cat /proc/uptime\n")
    .action(async (name: string, command: string[], _opts, cmd: Command) => {
      const { execCommand } = await import("./commands/exec.ts");
      await execCommand(name, command, opts(cmd));
    });

  program
    .command("logs")
    .description("print a container's output (kept across checkpoints and restores)")
    .argument("<name>", "container")
    .option("-f, --follow", "keep printing new output until the container stops")
    .option("-t, --timestamps", "prefix each line with its RFC 3339 time")
    .action(async (name: string, _opts, cmd: Command) => {
      const { logsCommand } = await import("./commands/logs.ts");
      await logsCommand(name, opts(cmd));
    });

  program
    .command("stop")
    .description("stop containers: SIGTERM, then SIGKILL after the grace period")
    .argument("<names...>", "containers")
    .option("-t, --time <duration>", "grace period before SIGKILL (default 10s; CKPT_STOP_TIMEOUT)")
    .option("--json", "print what ended each container as JSON")
    .action(async (names: string[], _opts, cmd: Command) => {
      const { stopCommand } = await import("./commands/stop.ts");
      await stopCommand(names, opts(cmd));
    });

  program
    .command("rm")
    .description("remove containers (their checkpoints stay in the store)")
    .argument("<names...>", "containers")
    .option("-f, --force", "stop running containers first")
    .option("--json", "print the removed names as JSON")
    .action(async (names: string[], _opts, cmd: Command) => {
      const { rmCommand } = await import("./commands/rm.ts");
      await rmCommand(names, opts(cmd));
    });

  program
    .command("checkpoint")
    .description("checkpoint running containers into ckpt's checkpoint store (it survives a reboot)")
    .argument("[names...]", "containers")
    .option("-a, --all", "every running container, into the store, with a recovery journal for restore --all (before a reboot); one another ckpt command holds is left alone, journalled busy")
    .option("--parallel <n>", "with --all: containers at once (default: the number of cores; CKPT_PARALLEL)")
    .option("--no-stop", "with --all: leave running a container that cannot be checkpointed, instead of stopping it gracefully")
    .option("-t, --time <duration>", "with --all: grace between SIGTERM and SIGKILL when a container is stopped (default 10s; CKPT_STOP_TIMEOUT)")
    .option("--progress-timeout <duration>", "end a dump whose log and images stopped growing for this long; the container is thawed (with --all: stopped instead) (default 60s; CKPT_PROGRESS_TIMEOUT)")
    .option("--retain <n>", "then keep the newest N checkpoints of the container in the store, or all (default 3; CKPT_RETAIN)")
    .option("-R, --leave-running", "keep the container running after the checkpoint")
    .option("--tcp-established", "checkpoint established TCP connections (restores give them back open)")
    .option("--tcp-close", "do not checkpoint established TCP connections: restores give them back closed")
    .option("--file-locks", "checkpoint file locks (restores take them again)")
    .option("--keep", "keep CRIU's work files; with --export, also keep the checkpoint in the store")
    .option("--allow-process-loss", "checkpoint even when processes outside PID 1's tree would be left out")
    .option("-e, --export <file>", "write the checkpoint as an archive (podman's layout) to FILE, or - for standard output")
    .addOption(new Option("-c, --compress <how>", "the archive's compression (default zstd; CKPT_COMPRESS)").choices([...compressions]))
    .option("--ignore-rootfs", "leave the root filesystem out of the archive (the target has it at the same path)")
    .option("--create-image <ref>", "write the checkpoint as an OCI image: oci:DIR[:TAG], oci-archive:FILE, containers-storage:NAME (podman's store) or docker://HOST/REPO:TAG (a registry, through skopeo)")
    .option("--tls-verify <bool>", "with --create-image to a registry: false for one without TLS (on loopback)", (v: string) => v !== "false")
    .option("--authfile <file>", "with --create-image: skopeo's credentials file for the registry")
    .option("--sign <key>", "with --export or --create-image: sign the checkpoint with this signing key (default: this host's key, when it has one)")
    .option("--no-sign", "with --export or --create-image: leave it unsigned")
    .option("--json", "print the result as JSON")
    .addHelpText(
      "after",
      `
Examples:
  ckpt checkpoint web && ckpt restore web
  ckpt checkpoint --create-image docker://registry.example:5000/ckpt/web:1 web
  ckpt checkpoint --export web.tar.zst web
  ckpt checkpoint --export - web | ssh host2 ckpt restore --import -
`,
    )
    .action(async (names: string[], _opts, cmd: Command) => {
      const options = opts<{ all?: boolean }>(cmd);
      if (options.all === true) {
        if (names.length > 0) throw new CkptError(ExitCode.usage, "give container names or --all, not both");
        const { checkpointAllCommand } = await import("./commands/recovery.ts");
        return checkpointAllCommand(options);
      }
      if (names.length === 0) throw new CkptError(ExitCode.usage, "missing the containers to checkpoint", { hint: "ckpt checkpoint NAME..., or --all" });
      const { checkpointCommand } = await import("./commands/checkpoint.ts");
      await checkpointCommand(names, opts(cmd));
    });

  const checkpoints = program
    .command("checkpoints")
    .description("list the checkpoints in the store; rm and prune remove them")
    .option("--json", "print them as JSON")
    .action(async (_opts, cmd: Command) => {
      const { checkpointsCommand } = await import("./commands/checkpoints.ts");
      await checkpointsCommand(opts(cmd));
    });
  checkpoints
    .command("rm")
    .description("remove checkpoints: NAME@STAMP (as `ckpt checkpoints` lists them, or STAMP.partial, .failed, .work), or --all NAME")
    .argument("<targets...>", "NAME@STAMP, or container names with --all")
    .option("--all", "every checkpoint and leftover of each named container")
    .option("--json", "print what was removed as JSON")
    .addHelpText("after", "\nNever removed: what the recovery journal names (restore --all needs it), a checkpointed\ncontainer's state, and what a running command holds (exit 9).\n\nExamples:\n  ckpt checkpoints rm web@20261122T080438.949067023Z\n  ckpt checkpoints rm --all old-web\n")
    .action(async (targets: string[], _opts, cmd: Command) => {
      const { checkpointsRmCommand } = await import("./commands/checkpoints.ts");
      await checkpointsRmCommand(targets, opts(cmd));
    });
  checkpoints
    .command("prune")
    .description("remove old checkpoints and the leftovers of operations that no longer run (failed dumps, staging)")
    .argument("[names...]", "only these containers' checkpoints (default: every container's, and staging)")
    .option("--keep <n>", "keep the newest N complete checkpoints of each container (default: the retain setting, unless --older-than is given)")
    .option("--older-than <duration>", "remove only what was made longer ago than this (90m, 12h, 7d); with --keep, what is both beyond the newest N and older")
    .option("--partial", "also remove partial dumps (STAMP.partial, an export's staging holding a dump) that are not a container's latest state")
    .option("--dry-run", "say what would be removed, remove nothing")
    .option("--json", "print the plan and what was removed as JSON")
    .addHelpText("after", "\nNever removed: what the recovery journal names, a checkpointed container's state, what a\nrunning command holds (or changed in the last 2 minutes), a checkpoint without a readable\nmanifest, and a complete partial dump newer than every checkpoint of its container.\n\nExamples:\n  ckpt checkpoints prune --dry-run\n  ckpt checkpoints prune --keep 2 --older-than 7d web\n")
    .action(async (names: string[], _opts, cmd: Command) => {
      const { checkpointsPruneCommand } = await import("./commands/checkpoints.ts");
      await checkpointsPruneCommand(names, opts(cmd));
    });

  const restoreCommand = program
    .command("restore")
    .description("restore a container from its latest checkpoint, a checkpoint directory, or an archive")
    .argument("[name-or-dir]", "container name, or checkpoint directory (ckpt's, podman's, or bare CRIU images with --bundle)")
    .option("-n, --name <name>", "restore under a new name (a new container id)")
    .option("-i, --import <file>", "restore from an archive (ckpt's or podman's), or - for standard input")
    .option("--image <ref>", "restore from a checkpoint image (also given as the argument): oci:DIR[:TAG], oci-archive:FILE, containers-storage:NAME or docker://HOST/REPO:TAG")
    .option("--tls-verify <bool>", "with an image in a registry: false for one without TLS (on loopback)", (v: string) => v !== "false")
    .option("--authfile <file>", "with an image in a registry: skopeo's credentials file")
    .option("--no-verify", "with --import: skip checking every file against the manifest's SHA-256")
    .option("--rootfs <dir>", "with --import of a podman archive: the image's root filesystem its changes apply to")
    .option("--bundle <dir>", "for bare CRIU images: the bundle (config.json) the container ran from")
    .option("--page-server <addr[:port]>", "for a lazy (post-copy) checkpoint: where its memory is served (default: the address it was dumped with)")
    .option("--wait-for-pages", "for a lazy checkpoint: exit only when every page has arrived (non-zero, removing the container, if the transfer fails)")
    .option("-a, --all", "every container the recovery journal of checkpoint --all lists (after a reboot)")
    .option("--parallel <n>", "with --all: containers at once (default: the number of cores; CKPT_PARALLEL)")
    .option("--backoff-initial <duration>", "with --all: first retry delay of a failed restore (default 10s; CKPT_BACKOFF_INITIAL)")
    .option("--backoff-max <duration>", "with --all: longest retry delay (default 5m; CKPT_BACKOFF_MAX)")
    .option("--progress-timeout <duration>", "end a restore whose log and reads stopped moving for this long (with --all: that attempt) (default 60s; CKPT_PROGRESS_TIMEOUT)")
    .option("--backoff-reset <duration>", "with --all: running this long without failing starts the back-off over (default 10m; CKPT_BACKOFF_RESET)")
    .option("--max-attempts <n>", "with --all: attempts per container before it is reported failed", "5")
    .addOption(new Option("--time-mode <mode>", "how the container's clocks relate to the host's after restore (default auto; CKPT_TIME_MODE)").choices([...timeModes]))
    .option("--tcp-established", "restore established TCP connections (default: as the checkpoint was made)")
    .option("--no-tcp-established", "do not restore established TCP connections (refused when the checkpoint holds some; see --tcp-close)")
    .option("--tcp-close", "restore established TCP connections closed (default: as the checkpoint was made)")
    .option("--file-locks", "restore file locks (default: as the checkpoint was made)")
    .option("--no-file-locks", "do not restore file locks (refused when the checkpoint holds some)")
    .option("--json", "print the result as JSON")
    .option("--allow <kind>", `let a foreign checkpoint's spec have what is otherwise refused (${allowableKinds.join(", ")}); repeatable; see "Imported specs" below`, parseAllow)
    .option("--spec <file>", "the container's OCI spec (config.json) to restore with, instead of the one the checkpoint carries: the operator's, so not vetted")
    .option("--restart <policy>", "restart policy of the restored container: no, on-failure[:N] or always (default: a checkpoint made here keeps its own; a foreign one gets no)");
  addNetworkOptions(restoreCommand, "default: the network the checkpoint was made in, built again here (an imported host-network checkpoint needs --network host)");
  restoreCommand
    .addHelpText(
      "after",
      `
Time modes:
  continue  monotonic and boottime resume from their checkpointed values
  suspend   monotonic resumes; boottime also counts the time since the checkpoint
  host      run on the host's clocks; refused when a clock would go backwards
  auto      host for a container without a time namespace of its own restored on the
            same boot, continue otherwise

Imported specs: the spec of a checkpoint made elsewhere (an unsigned archive, one signed
by a key not trusted here, podman's or CRI-O's) is checked before anything starts. Each of
these is refused, named, until --allow KIND says so: hooks, mounts (bind mounts of host
paths), capabilities (beyond the default set), namespaces (joined by path, or missing),
devices, sysctls (outside the namespaced safe set), confinement (unconfined seccomp,
AppArmor, SELinux), masked-paths (the default masks missing), rlimits (above this
host's), rootfs (a host directory the archive does not carry), annotations (crun's
run.oci.*). --spec FILE restores with your own spec instead.

Dump options: a checkpoint made with --file-locks, --tcp-established or --tcp-close is
restored with the same (its manifest and images say which); a flag that would lose what
it holds (--no-file-locks on a checkpoint holding locks) is refused. --tcp-close restores
the connections of a --tcp-established checkpoint closed.

Example:
  ckpt restore web --time-mode suspend
`,
    )
    .action(async (source: string | undefined, _opts, cmd: Command) => {
      const options = opts<{ all?: boolean }>(cmd);
      if (options.all === true) {
        if (source !== undefined) throw new CkptError(ExitCode.usage, "give a checkpoint or --all, not both");
        const { restoreAllCommand } = await import("./commands/recovery.ts");
        return restoreAllCommand(options);
      }
      const { restoreCommand } = await import("./commands/restore.ts");
      await restoreCommand(source, opts(cmd));
    });

  program
    .command("migrate")
    .description("move a running container to another host: checkpoint, stream, restore there, then remove it here")
    .argument("<name>", "container")
    .requiredOption("--to <target>", "the command that runs ckpt on the other host, e.g. 'ssh host2 ckpt'")
    .option("--lazy", "post-copy: start on the target as soon as all but the memory has arrived; pages follow on demand (runc only)")
    .option("--page-server <addr[:port]>", "with --lazy: this host's address the target fetches pages from (port default 27027)")
    .option("--progress-timeout <duration>", "with --lazy: end a page transfer that stopped moving for this long (default 60s; CKPT_PROGRESS_TIMEOUT)")
    .option("--pre-dump", "pre-copy: copy memory while the container runs (needs dirty-memory tracking)")
    .option("--tcp-established", "migrate established TCP connections")
    .option("--tcp-close", "do not migrate established TCP connections: they are closed on the target")
    .option("--allow <kind>", `let the target restore what it refuses in an imported spec unasked (${allowableKinds.join(", ")}); repeatable`, parseAllow)
    .option("--file-locks", "migrate file locks")
    .option("--allow-process-loss", "migrate even when processes outside PID 1's tree would be left out")
    .addOption(new Option("-c, --compress <how>", "the stream's compression (default zstd; CKPT_COMPRESS)").choices([...compressions]))
    .option("--ignore-rootfs", "leave the root filesystem out of the stream (the target has it at the same path, as with shared storage)")
    .option("--sign <key>", "sign the stream with this signing key (default: this host's key, when it has one)")
    .option("--no-sign", "send the stream unsigned")
    .option("--json", "print the result as JSON")
    .addHelpText(
      "after",
      `
Post-copy (--lazy): the container is frozen only while its non-memory state moves; it then
runs on the target while CRIU's page server here sends its memory, on demand and in the
background. Until the last page has moved the container needs both hosts: if the transfer
fails, CRIU resumes it here and ckpt removes the target's copy.

Examples:
  ckpt migrate web --to 'ssh host2 ckpt'
  ckpt migrate web --to 'nsenter --net=/run/netns/blue ckpt --root /var/lib/ckpt-blue'
  ckpt migrate web --lazy --page-server 192.0.2.1 --to 'ssh host2 ckpt'
`,
    )
    .action(async (name: string, _opts, cmd: Command) => {
      const { migrateCommand } = await import("./commands/migrate.ts");
      await migrateCommand(name, opts(cmd));
    });

  const keys = program
    .command("keys")
    .description("signing keys: sign exported archives and migrations, and trust other hosts' keys")
    .addHelpText(
      "after",
      `
An archive signed by a key this host trusts restores as if made here: its spec (hooks, bind
mounts) and restart policy are taken as they are. Unsigned or untrusted archives go through
the import policy (--allow). A bad signature is refused (exit 8).

Examples:
  ckpt keys generate
  ckpt keys export | ssh host2 ckpt keys trust -
  ckpt keys untrust host1
`,
    );
  keys
    .command("generate")
    .description("make this host a signing key (Ed25519), trusted here; exports and migrations are then signed")
    .option("--name <name>", "the key's name (default: this host's name)")
    .option("--force", "replace an existing key of that name")
    .option("--json", "print the key as JSON")
    .action(async (_opts, cmd: Command) => {
      const { keysGenerateCommand } = await import("./commands/keys.ts");
      await keysGenerateCommand(opts(cmd));
    });
  keys
    .command("list")
    .description("list this host's signing keys and the keys it trusts")
    .option("--json", "print them as JSON")
    .action(async (_opts, cmd: Command) => {
      const { keysListCommand } = await import("./commands/keys.ts");
      await keysListCommand(opts(cmd));
    });
  keys
    .command("trust")
    .description("trust a key: archives it signs restore here with their own spec and restart policy")
    .argument("<key>", "a file from `ckpt keys export` (- for standard input), or a fingerprint (SHA256:...)")
    .option("--name <name>", "what to call it here (default: the name it was exported with)")
    .option("--json", "print the trusted key as JSON")
    .action(async (what: string, _opts, cmd: Command) => {
      const { keysTrustCommand } = await import("./commands/keys.ts");
      await keysTrustCommand(what, opts(cmd));
    });
  keys
    .command("untrust")
    .description("stop trusting a key")
    .argument("<key>", "its fingerprint (or its first 12 digits) or its name")
    .option("--json", "print the removed key as JSON")
    .action(async (selector: string, _opts, cmd: Command) => {
      const { keysUntrustCommand } = await import("./commands/keys.ts");
      await keysUntrustCommand(selector, opts(cmd));
    });
  keys
    .command("export")
    .description("print this host's public key, for another host's `ckpt keys trust`")
    .argument("[name]", "which signing key (default: this host's)")
    .option("--pem", "print it as PEM instead of one line")
    .option("--json", "print it as JSON (both forms)")
    .action(async (name: string | undefined, _opts, cmd: Command) => {
      const { keysExportCommand } = await import("./commands/keys.ts");
      await keysExportCommand(name, opts(cmd));
    });

  program
    .command("inspect")
    .description("show what a checkpoint holds: manifest, time namespaces, processes, memory, files, CRIU statistics")
    .argument("<checkpoint>", "an archive (ckpt's, podman's, CRI-O's, or - for standard input), a checkpoint directory, a directory of CRIU images, or a container name")
    .option("--json", "print the report as JSON (keys sorted)")
    .addHelpText("after", "\nExamples:\n  ckpt inspect web.tar.zst\n  ckpt inspect --json web\n")
    .action(async (target: string, _opts, cmd: Command) => {
      const { inspectCommand } = await import("./commands/inspect.ts");
      await inspectCommand(target, opts(cmd));
    });

  program
    .command("recover")
    .description("finish or undo what a killed ckpt left: a dump CRIU completed becomes the newest checkpoint, an incomplete one leaves the container running, a restore is adopted or ended with its checkpoint kept; staging of dead commands is removed (every command does this for its own container first)")
    .argument("[names...]", "containers (default: every one)")
    .option("--json", "print what was done as JSON")
    .action(async (names: string[], _opts, cmd: Command) => {
      const { recoverCommand } = await import("./commands/recover.ts");
      await recoverCommand(names, opts(cmd));
    });

  program
    .command("repair")
    .description("write a restorable copy of a checkpoint other tools left unrestorable (the original is never changed)")
    .argument("<checkpoint>", "a checkpoint directory, a directory of CRIU images, an archive, or a container name")
    .option("--unify-timens", "put every task in PID 1's time namespace, with clocks that go back for no task")
    .option("-o, --output <dir>", "where the repaired copy goes (default: CHECKPOINT.repaired)")
    .option("--json", "print the result as JSON")
    .addHelpText("after", "\nExample:\n  ckpt repair --unify-timens /var/lib/runc-ckpt/web -o /tmp/web.fixed && ckpt restore --bundle ./web /tmp/web.fixed\n")
    .action(async (target: string, _opts, cmd: Command) => {
      const { repairCommand } = await import("./commands/repair.ts");
      await repairCommand(target, opts(cmd));
    });

  program
    .command("demo")
    .description("the main job on a throwaway busybox container: run, checkpoint, restore, exec, and what each clock says")
    .option("--keep", "keep the demo container and its checkpoint")
    .option("--json", "print the report as JSON")
    .action(async (_opts, cmd: Command) => {
      const { demoCommand } = await import("./commands/demo.ts");
      await demoCommand(opts(cmd));
    });

  // run --restart's own machinery: conmon's exit command and the waiter it starts.
  program
    .command(EXIT_HANDLER_COMMAND, { hidden: true })
    .argument("<name>")
    .action(async (name: string, _opts, cmd: Command) => {
      const { containerExitedCommand } = await import("./commands/restart-hooks.ts");
      await containerExitedCommand(name, opts(cmd));
    });
  program
    .command(CHECK_RESTORE_COMMAND, { hidden: true })
    .action(async (_opts, cmd: Command) => {
      const { checkRestoreCommand } = await import("./commands/check-restore.ts");
      await checkRestoreCommand(opts(cmd));
    });
  program
    .command(WAITER_COMMAND, { hidden: true })
    .argument("<name>")
    .argument("<generation>")
    .action(async (name: string, generation: string, _opts, cmd: Command) => {
      const { restartWaitCommand } = await import("./commands/restart-hooks.ts");
      await restartWaitCommand(name, Number(generation), opts(cmd));
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
      process.stderr.write(`${JSON.stringify({ error: errorJson(error) })}\n`);
    } else {
      process.stderr.write(`${errorLines(error).join("\n")}\n`);
    }
    return error.exitCode;
  }
  process.stderr.write(`ckpt: internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\nThis is a bug in ckpt; please report it with the command you ran.\n`);
  return ExitCode.internal;
}
