// The record ckpt keeps for each container it runs or restores: ROOT/containers/NAME/container.json.
import { z } from "zod";
import { runtimeNames } from "../oci/runtime-names.ts";
import { NO_RESTART, RestartPolicySchema } from "./restart-policy-schema.ts";
import { NetworkConfigSchema } from "./network-config.ts";

export const ContainerRecordSchema = z.object({
  formatVersion: z.literal(1),
  name: z.string(),
  id: z.string().regex(/^[0-9a-f]{64}$/),
  runtime: z.enum(runtimeNames),
  runtimePath: z.string(),
  // The bundle the container was created from (the user's), and its root filesystem.
  sourceBundle: z.string().nullable(),
  rootfs: z.string(),
  createdAtNs: z.string().regex(/^\d+$/),
  // The checkpoint the container was last restored from, if any.
  restoredFrom: z.string().nullable(),
  // Set when a checkpoint stopped the container; cleared when it runs again.
  checkpointedTo: z.string().nullable(),
  // run --restart: what the monitor does when the container exits (records from before
  // the flag never restart).
  restart: RestartPolicySchema.default(NO_RESTART),
  // How the container is networked (network/); absent in records from before ckpt managed
  // networks: the spec's namespaces are then used as they are.
  network: NetworkConfigSchema.optional(),
});
export type ContainerRecord = z.infer<typeof ContainerRecordSchema>;
