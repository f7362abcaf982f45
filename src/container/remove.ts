// Removes a container from this host: the runtime's record of it, its network namespace
// and veth, and its directory (never through a mount). Its checkpoints stay.
import { releaseContainerNetwork } from "../network/container-network.ts";
import type { RuntimeCli } from "../runtimes/runtime-cli.ts";
import type { ContainerRecord } from "../store/container-record.ts";
import type { ContainerStore } from "../store/container-store.ts";

export async function removeContainer(store: ContainerStore, record: ContainerRecord, runtime: RuntimeCli, options: { tolerateRuntime?: boolean } = {}): Promise<void> {
  const deleting = runtime.delete(record.id, true);
  await (options.tolerateRuntime ? deleting.catch(() => {}) : deleting);
  await releaseContainerNetwork(store, record);
  await store.remove(record.name);
}
