// Where ckpt keeps things under --root. One function per place, so the layout is
// readable in one screen:
//
//   ROOT/containers/NAME/container.json   the container record
//   ROOT/containers/NAME/bundle/           ckpt's copy of the OCI bundle (config.json)
//   ROOT/containers/NAME/container.log     stdout/stderr, written by the monitor
//   ROOT/containers/NAME/netns             its private network namespace (bound here, network/)
//   ROOT/containers/NAME/criu.conf         CRIU options for the next dump or restore
//   ROOT/containers/NAME/bundle-criu.conf  the bundle's own org.criu.config file, copied at run
//   ROOT/containers/NAME/restart.json      run --restart: restarts, the next retry (restart/)
//   ROOT/containers/NAME/restart-hold      ckpt ended the container on purpose: no restart
//   ROOT/containers/NAME/restart.log       what the exit handler and the restarter did
//   ROOT/containers/NAME/lazy-images/      a lazy restore's images, while its memory arrives
//   ROOT/containers/NAME/lazy-pages.json   the lazy-pages daemon fetching that memory
//   ROOT/containers/NAME/operation.json    the intent record of an operation on it (operations/)
//   ROOT/checkpoints/NAME/STAMP/           one checkpoint (podman's layout: checkpoint-dir.ts)
//   ROOT/checkpoints/NAME/STAMP.partial/   a dump not yet complete (or interrupted); .failed: a failed one's log
//   ROOT/staging/ckpt-PURPOSE-TAG-PID-...  an export's or import's staging on disk (archive/staging.ts)
//   ROOT/runtime/RUNTIME/                  the OCI runtime's own state (--root)
//   ROOT/recovery-journal.json             what checkpoint --all did, for restore --all
//   ROOT/locks/KIND-NAME.lock              flock(2) locks: container-NAME, store-all (locks.ts)
//   ROOT/locks/KIND-NAME.holder            who holds one: PID, command, since when
//   ROOT/keys/signing/NAME.pem             this host's Ed25519 signing keys (0600; signing/)
//   ROOT/keys/trusted/HEX.json             a public key trusted here, by its fingerprint
import { join } from "node:path";
import type { RuntimeName } from "../oci/runtime-names.ts";

export class StoreLayout {
  readonly root: string;

  constructor(root: string) {
    this.root = root;
  }

  containersDir(): string {
    return join(this.root, "containers");
  }
  containerDir(name: string): string {
    return join(this.root, "containers", name);
  }
  containerRecord(name: string): string {
    return join(this.containerDir(name), "container.json");
  }
  bundleDir(name: string): string {
    return join(this.containerDir(name), "bundle");
  }
  containerLog(name: string): string {
    return join(this.containerDir(name), "container.log");
  }
  networkNamespace(name: string): string {
    return join(this.containerDir(name), "netns");
  }
  criuConfig(name: string): string {
    return join(this.containerDir(name), "criu.conf");
  }
  // The bundle's own CRIU configuration (its org.criu.config file), as `run` found it.
  bundleCriuConfig(name: string): string {
    return join(this.containerDir(name), "bundle-criu.conf");
  }
  restartState(name: string): string {
    return join(this.containerDir(name), "restart.json");
  }
  restartHold(name: string): string {
    return join(this.containerDir(name), "restart-hold");
  }
  restartLog(name: string): string {
    return join(this.containerDir(name), "restart.log");
  }
  // A lazy restore's images, read by its lazy-pages daemon, and the daemon's PID.
  lazyImagesDir(name: string): string {
    return join(this.containerDir(name), "lazy-images");
  }
  lazyPagesRecord(name: string): string {
    return join(this.containerDir(name), "lazy-pages.json");
  }
  exitDir(name: string): string {
    return join(this.containerDir(name), "exit");
  }
  monitorPidFile(name: string): string {
    return join(this.containerDir(name), "monitor.pid");
  }
  containerPidFile(name: string): string {
    return join(this.containerDir(name), "container.pid");
  }
  execDir(name: string): string {
    return join(this.containerDir(name), "exec");
  }
  checkpointsDir(): string {
    return join(this.root, "checkpoints");
  }
  containerCheckpointsDir(name: string): string {
    return join(this.root, "checkpoints", name);
  }
  recoveryJournal(): string {
    return join(this.root, "recovery-journal.json");
  }
  locksDir(): string {
    return join(this.root, "locks");
  }
  keysDir(): string {
    return join(this.root, "keys");
  }
  signingKeysDir(): string {
    return join(this.root, "keys", "signing");
  }
  signingKey(name: string): string {
    return join(this.signingKeysDir(), `${name}.pem`);
  }
  trustedKeysDir(): string {
    return join(this.root, "keys", "trusted");
  }
  // `fingerprintHex`: the key's SHA-256 in hex (base64 has '/').
  trustedKey(fingerprintHex: string): string {
    return join(this.trustedKeysDir(), `${fingerprintHex}.json`);
  }
  runtimeStateRoot(runtime: RuntimeName): string {
    return join(this.root, "runtime", runtime);
  }
}
