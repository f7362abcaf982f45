// The restart policy as a container's record holds it, and the back-off it restarts on.
// Here, below restart/ (which decides with it) and recovery/ (whose restore --all retries
// on the same back-off), because the record is the store's.
import { z } from "zod";

// The retry schedule for restores that fail and containers that crash (recovery/backoff.ts).
export const BackoffPolicySchema = z.object({ initialMs: z.number().int().nonnegative(), maxMs: z.number().int().nonnegative(), resetAfterMs: z.number().int().nonnegative() });
export type BackoffPolicy = z.infer<typeof BackoffPolicySchema>;

export const DEFAULT_BACKOFF: BackoffPolicy = { initialMs: 10_000, maxMs: 300_000, resetAfterMs: 600_000 };

export const RestartPolicySchema = z.object({
  policy: z.enum(["no", "on-failure", "always"]),
  // Restarts in a row before ckpt gives up; null: no limit.
  maxRetries: z.number().int().positive().nullable(),
  backoff: BackoffPolicySchema,
});
export type RestartPolicy = z.infer<typeof RestartPolicySchema>;

export const NO_RESTART: RestartPolicy = { policy: "no", maxRetries: null, backoff: DEFAULT_BACKOFF };
