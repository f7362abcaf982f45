// What every command receives: the global flags that are not settings, and the settings
// resolved once for this run (flag > environment > config file > default; cli.ts).
// The settings' own flags (--root, --runtime, --criu, --config, --progress-timeout...)
// are read through `settings` only.
import type { Settings } from "./config/resolve.ts";

export interface GlobalOptions {
  settings: Settings;
  json?: boolean | undefined;
  color?: boolean | undefined;
  verbose?: boolean | undefined;
  // --lock-timeout as typed; lockTimeoutMs is the resolved setting (flag, environment,
  // config file or default), filled in before any command runs.
  lockTimeout?: string | undefined;
  lockTimeoutMs?: number | undefined;
}

export const DEFAULT_ROOT = "/var/lib/ckpt";
