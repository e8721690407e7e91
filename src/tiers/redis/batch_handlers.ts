/**
 * What a batcher does with each key's outcome, inside the batch loop. Handlers turn raw replies
 * into the caller's final value (decode, stats, L1 fill) synchronously, so one L2 operation costs
 * the caller exactly one promise, not one per layer. A handler that throws rejects that caller
 * only. `ctx` is per-call state the handler needs (a read's start sequence, a write's L1 fill).
 */
export interface ReadHandler {
  onValue(bytes: Buffer | null, key: string, ctx: unknown, latencyMs: number): unknown;
  onError(err: unknown, key: string, ctx: unknown, latencyMs: number): unknown;
}

export interface WriteHandler {
  /** `reply`: Redis's answer (a delete's count of removed keys). */
  onDone(key: string, ctx: unknown, latencyMs: number, reply?: unknown): unknown;
  onError(err: unknown, key: string, ctx: unknown, latencyMs: number): unknown;
}

/** Resolves with the raw bytes and rejects with the client error: for callers that want both. */
export const RAW_READ: ReadHandler = {
  onValue: (bytes) => bytes,
  onError: (err) => {
    throw err;
  },
};

export const RAW_WRITE: WriteHandler = {
  onDone: (_key, _ctx, _ms, reply) => reply,
  onError: (err) => {
    throw err;
  },
};
