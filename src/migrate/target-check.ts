// Before a migration freezes anything: asks the target whether it can take the container
// (`TARGET __check-restore`, the container's name and network on standard input), so that
// a missing bridge, an address in use or a name taken there is refused while the source
// still runs untouched. The source also names the key it will sign with; the target says
// whether it trusts that key (then the container's spec is taken as it is there, and the
// source need not refuse what the import policy would). A target whose ckpt predates
// signing does not answer that: it trusts nothing.
import { execa } from "execa";
import { z } from "zod";
import { CkptError, ExitCode } from "../errors.ts";
import { NetworkConfigSchema } from "../store/network-config.ts";

export const CHECK_RESTORE_COMMAND = "__check-restore";

export const RestoreCheckRequestSchema = z.object({ name: z.string(), network: NetworkConfigSchema.optional(), signer: z.string().optional() });
export type RestoreCheckRequest = z.infer<typeof RestoreCheckRequestSchema>;
const RestoreCheckAnswerSchema = z.object({ problems: z.array(z.string()), trustsSigner: z.boolean().default(false) });

export interface RestoreCheckAnswer {
  // The target trusts the key named in the request's `signer`.
  trustsSigner: boolean;
}

export async function refuseUnfitTarget(target: string, request: RestoreCheckRequest): Promise<RestoreCheckAnswer> {
  const r = await execa("sh", ["-c", `exec ${target} ${CHECK_RESTORE_COMMAND}`], { input: JSON.stringify(request), reject: false });
  const answer = r.exitCode === 0 ? RestoreCheckAnswerSchema.safeParse(parseJson(String(r.stdout))) : undefined;
  if (answer?.success !== true) {
    throw new CkptError(ExitCode.transferFailed, `could not ask the target (${target}) whether it can take "${request.name}" (exit ${r.exitCode ?? "signal"}); nothing was frozen`, {
      evidence: String(r.stderr).trim().split("\n").filter((l) => l !== "").slice(-4),
      hint: "run the target command by hand (TARGET doctor); it needs a ckpt as new as this one",
    });
  }
  if (answer.data.problems.length > 0) {
    throw new CkptError(ExitCode.refused, `the target (${target}) cannot take "${request.name}"; nothing was frozen, it runs on here`, {
      evidence: answer.data.problems,
      hint: "fix the target (create the bridge, free the address or the name), or migrate elsewhere",
    });
  }
  return { trustsSigner: request.signer !== undefined && answer.data.trustsSigner };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
