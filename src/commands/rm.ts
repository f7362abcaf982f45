// `ckpt rm [-f] NAME...`: removes containers; their checkpoints stay in the store.
import { liveState, openContainer } from "../container/context.ts";
import { isActive } from "../container/status.ts";
import { stopContainer } from "../container/stop.ts";
import { holdRestarts } from "../restart/restart-state.ts";
import { CkptError, ExitCode } from "../errors.ts";
import type { GlobalOptions } from "../global-options.ts";
import { printJson } from "../output/json.ts";
import { removeContainer } from "../container/remove.ts";

interface RmOptions extends GlobalOptions {
  force?: boolean;
}

export async function rmCommand(names: string[], options: RmOptions): Promise<void> {
  const removed: string[] = [];
  for (const name of names) {
    const ctx = await openContainer(options, name);
    const live = await liveState(ctx);
    if (isActive(live.status)) {
      if (!options.force) {
        throw new CkptError(ExitCode.conflict, `container "${name}" is ${live.status}`, { hint: `stop it first (ckpt stop ${name}) or remove it anyway with ckpt rm -f ${name}` });
      }
      await stopContainer(ctx, 0, "removed");
    }
    // A restart that is pending is called off before the container's directory goes.
    await holdRestarts(ctx.store.layout, ctx.record, "removed");
    await removeContainer(ctx.store, ctx.record, ctx.runtime);
    removed.push(name);
    if (!options.json) process.stdout.write(`${name}\n`);
  }
  if (options.json) printJson({ removed });
}
