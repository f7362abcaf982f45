// The options every command accepts, as commander hands them over.
export interface GlobalOptions {
  root: string;
  runtime?: string | undefined;
  criu?: string | undefined;
  // --config FILE as typed (commands pass it on to loadConfig).
  config?: string | undefined;
  json?: boolean | undefined;
  color?: boolean | undefined;
  verbose?: boolean | undefined;
  // --lock-timeout as typed; lockTimeoutMs is the resolved setting (flag, environment,
  // config file or default), filled in before any command runs.
  lockTimeout?: string | undefined;
  lockTimeoutMs?: number | undefined;
}

export const DEFAULT_ROOT = "/var/lib/ckpt";
