// Entry point. Imports nothing statically so that it can refuse an old Node.js with a
// clear message before any dependency (which may need newer syntax) is loaded.
const MIN_NODE_MAJOR = 22;

const major = Number(process.versions.node.split(".")[0]);
if (major < MIN_NODE_MAJOR) {
  process.stderr.write(
    `ckpt: error: Node.js ${process.versions.node} is too old; ckpt needs Node.js >= ${MIN_NODE_MAJOR}\n` +
      "hint: run scripts/setup-host.sh as root (it installs Node.js 24 beside the system's node), or set CKPT_NODE\n",
  );
  process.exit(3);
}
// V8's code cache for ckpt's modules (kept in the OS temporary directory): every command
// starts about a tenth of a second sooner, which counts during a checkpoint.
const { enableCompileCache } = await import("node:module");
enableCompileCache?.();
const { main } = await import("./cli.ts");
process.exitCode = await main(process.argv);
