// `ckpt __check-restore` (a migration's source asks its target before freezing anything):
// reads {name, network, signer} on standard input, prints {problems: [...], trustsSigner};
// no problems means the container can be restored here under that name with that network;
// trustsSigner, that an archive signed by the key `signer` (a fingerprint) is trusted here.
import { text } from "node:stream/consumers";
import { DamagedRecordError } from "../store/container-store.ts";
import { openStore, runtimeFor } from "../container/context.ts";
import { containerStatus, isActive } from "../container/status.ts";
import { CkptError, ExitCode } from "../errors.ts";
import type { GlobalOptions } from "../global-options.ts";
import { RestoreCheckRequestSchema } from "../migrate/target-check.ts";
import { networkProblemsHere } from "../network/container-network.ts";
import { printJson } from "../output/json.ts";
import { trustedKeys } from "../signing/key-store.ts";

export async function checkRestoreCommand(options: GlobalOptions): Promise<void> {
  const parsed = RestoreCheckRequestSchema.safeParse(JSON.parse(await text(process.stdin)));
  if (!parsed.success) throw new CkptError(ExitCode.usage, `${"__check-restore"} reads {name, network} as JSON: ${parsed.error.issues[0]?.message ?? "invalid"}`);
  const { name, network, signer } = parsed.data;
  const store = openStore(options);
  const problems: string[] = [];
  const existing = await store.find(name).catch((error: unknown) => {
    if (error instanceof DamagedRecordError) problems.push(`a container named "${name}" is here with a damaged record (remove it with ckpt rm -f ${name})`);
    return null;
  });
  if (existing !== null) {
    const status = containerStatus(existing, await runtimeFor(store, existing.runtime, existing.runtimePath).state(existing.id));
    if (isActive(status)) problems.push(`a container named "${name}" is ${status} here`);
  }
  problems.push(...(await networkProblemsHere(store, name, network)).map((p) => `${p.message} (${p.fix})`));
  const trust = signer === undefined ? null : await trustedKeys(store.layout, options.settings.trustedKeys.value);
  printJson({ problems, trustsSigner: signer !== undefined && trust?.has(signer) === true });
}
