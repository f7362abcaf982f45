// The OCI runtimes ckpt drives (one adapter each in runtimes/). Here, at the bottom, so
// that the store's records and layout can name them without importing the adapters.
export const runtimeNames = ["runc", "crun"] as const;
export type RuntimeName = (typeof runtimeNames)[number];
