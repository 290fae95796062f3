import type { Logger } from "@mcpfleet/core";
import type { HostConfig } from "@mcpfleet/example-host-kit/config";
import { redact } from "@mcpfleet/example-host-kit/stores";
import { Redis } from "ioredis";
import { type Limiter, RateLimiter, type Take } from "./rate-limit.js";

/**
 * The token bucket of `RateLimiter`, atomically in Redis, judged by Redis's clock (`TIME`), so every
 * replica pointing at the same Redis draws from one budget per key. KEYS[1] bucket; ARGV rps, burst.
 * Returns {1, tokens left} or {0, tokens} (tokens as strings: Redis truncates Lua numbers).
 */
const TAKE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local rps = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local b = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(b[1])
local at = tonumber(b[2])
if tokens == nil or at == nil then
  tokens = burst
  at = now
end
tokens = math.min(burst, tokens + math.max(0, now - at) / 1000 * rps)
local ok = 0
if tokens >= 1 then
  tokens = tokens - 1
  ok = 1
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rps * 1000) + 1000)
return {ok, tostring(tokens)}
`;

type TakeReply = [number, string];

/**
 * Shared rate limits. When Redis cannot answer (down, slow past `timeoutMs`), the request is judged by
 * this replica's own bucket instead (limits stay on, per replica, until Redis is back), with one
 * warning per outage.
 */
export class RedisRateLimiter implements Limiter {
  private readonly local: RateLimiter;
  private degraded = false;

  constructor(
    private readonly redis: Redis,
    private readonly rps: number,
    private readonly burst: number,
    private readonly prefix: string,
    private readonly logger: Logger,
    private readonly timeoutMs = 250,
  ) {
    this.local = new RateLimiter(rps, burst);
    redis.defineCommand("mcpfleetTake", { numberOfKeys: 1, lua: TAKE });
  }

  async take(key: string): Promise<Take> {
    let timer: NodeJS.Timeout | undefined;
    try {
      const reply = await Promise.race([
        (
          this.redis as unknown as { mcpfleetTake(k: string, rps: number, burst: number): Promise<TakeReply> }
        ).mcpfleetTake(`${this.prefix}${key}`, this.rps, this.burst),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer within ${this.timeoutMs} ms`)), this.timeoutMs);
        }),
      ]);
      if (this.degraded) this.logger.info({}, "shared rate limits: Redis answers again");
      this.degraded = false;
      const tokens = Number(reply[1]);
      if (reply[0] === 1) return { ok: true, remaining: Math.floor(tokens) };
      return { ok: false, retryAfterS: Math.max(1, Math.ceil((1 - tokens) / this.rps)) };
    } catch (err) {
      if (!this.degraded)
        this.logger.warn(
          { err: (err as Error).message },
          "shared rate limits: Redis unavailable, limiting per replica",
        );
      this.degraded = true;
      return this.local.take(key);
    } finally {
      clearTimeout(timer);
    }
  }

  async close(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}

/** The Redis the rate limits share: `RATE_LIMIT_REDIS_URL`, else the bus's `REDIS_URL` when `FLEET_BUS=redis`. */
export function sharedLimitUrl(
  config: Pick<HostConfig, "RATE_LIMIT_STORE" | "RATE_LIMIT_REDIS_URL" | "FLEET_BUS" | "REDIS_URL">,
): string | undefined {
  if (config.RATE_LIMIT_STORE === "memory") return undefined;
  return config.RATE_LIMIT_REDIS_URL ?? (config.FLEET_BUS === "redis" ? config.REDIS_URL : undefined);
}

/**
 * This replica's limiter: shared through Redis when one is configured, else in memory. Waits up to
 * 2 s for Redis so the first requests already share the budget.
 */
export async function buildLimiter(config: HostConfig, logger: Logger): Promise<{ limiter: Limiter; how: string }> {
  const url = sharedLimitUrl(config);
  if (!url) return { limiter: new RateLimiter(config.RATE_LIMIT_RPS, config.RATE_LIMIT_BURST), how: "per replica" };
  const log = logger.child({ component: "rate-limit" });
  const redis = new Redis(url, { maxRetriesPerRequest: 1, enableOfflineQueue: false, connectTimeout: 2000 });
  redis.on("error", (err) => log.debug({ err: err.message }, "rate limit Redis connection error"));
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, 2000);
    redis.once("ready", () => {
      clearTimeout(timer);
      resolve();
    });
  });
  const prefix = `${config.REDIS_PREFIX ?? "mcpfleet:"}ratelimit:`;
  return {
    limiter: new RedisRateLimiter(redis, config.RATE_LIMIT_RPS, config.RATE_LIMIT_BURST, prefix, log),
    how: `shared through Redis (${redact(url)})`,
  };
}
