// Progress of a long transfer: bytes so far and the phase, reported at most every
// quarter second to whoever listens.
export interface ProgressEvent {
  phase: string;
  bytes: number;
  totalBytes: number | null;
}

export type ProgressListener = (event: ProgressEvent) => void;

export function throttledProgress(listener: ProgressListener | undefined, intervalMs = 250): (event: ProgressEvent, force?: boolean) => void {
  let last = 0;
  return (event, force = false) => {
    if (listener === undefined) return;
    const now = Date.now();
    if (!force && now - last < intervalMs) return;
    last = now;
    listener(event);
  };
}
