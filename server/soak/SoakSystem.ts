/**
 * What a soak runs against, and the hands that break it: `wirelab serve` instances in child
 * processes (so a kill -9 kills a real process), the network emulator in front of them (in this
 * process, so it outlives every instance, as a real network would), and for the cluster variant
 * a Redis of our own (so it can be restarted) and the front door between the emulator and the
 * instances. Clients connect to `url`; the soak's own reads and admin calls go to `controlUrl`,
 * around the faults.
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SessionKeeper } from "../../web/src/isomorphic/kit/SessionKeeper.js";
import { JsonClient } from "../../web/src/isomorphic/kit/JsonClient.js";
import { WorkbenchApi } from "../../web/src/isomorphic/kit/WorkbenchApi.js";
import { sleep } from "../../web/src/isomorphic/kit/backoff.js";
import { LIMITS, type Message, type PollResponse } from "../../web/src/isomorphic/protocol/index.js";
import { FrontDoor } from "../cluster/FrontDoor.js";
import { RedisProcess } from "../cluster/RedisProcess.js";
import { NetworkEmulator } from "../netem/index.js";
import { ServerProcess } from "../ServerProcess.js";
import type { Fault, FaultTarget, SoakVariant } from "./faults.js";

export interface SoakSystemOptions {
  variant: SoakVariant;
  /** The instances' SSE heartbeat and WebSocket ping interval (WIRELAB_HEARTBEAT_MS). */
  heartbeatMs: number;
  /** The emulator's randomness (jitter), from the seed. */
  random: () => number;
  /** Lift the rate limits and connection caps (`--load-test`): the load hold's thousand connects. */
  loadTest?: boolean;
}

/** One `wirelab serve` child and how to start it again on the same port and store. */
class SoakInstance {
  constructor(
    public process: ServerProcess,
    readonly args: string[],
    readonly env: NodeJS.ProcessEnv,
  ) {}

  get url(): string {
    return this.process.url;
  }

  get port(): number {
    return Number(new URL(this.process.url).port);
  }

  /** SIGKILL: no close frames, no drain, nothing flushed that was not already. */
  async kill(): Promise<void> {
    const child = this.process.child;
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGKILL");
    await exited;
  }

  async startAgain(): Promise<void> {
    this.process = await ServerProcess.start([...this.args, "--port", String(this.port)], this.env);
  }
}

export class SoakSystem {
  private constructor(
    readonly variant: SoakVariant,
    readonly instances: SoakInstance[],
    readonly emulator: NetworkEmulator,
    readonly door: FrontDoor | null,
    readonly redis: RedisProcess | null,
    readonly admin: SessionKeeper,
    readonly instructorKey: string,
    readonly dataDir: string,
  ) {}

  static async start(options: SoakSystemOptions): Promise<SoakSystem> {
    const dataDir = await mkdtemp(join(tmpdir(), "wirelab-soak-"));
    const instructorKey = randomBytes(12).toString("base64url");
    const env: NodeJS.ProcessEnv = {
      // One secret for every instance and every restart: a token stays good wherever it lands.
      WIRELAB_SECRET: randomBytes(24).toString("base64url"),
      WIRELAB_INSTRUCTOR_KEY: instructorKey,
      WIRELAB_HEARTBEAT_MS: String(options.heartbeatMs),
    };
    const started: Array<{ close(): Promise<unknown> }> = [];
    try {
      let redis: RedisProcess | null = null;
      const instances: SoakInstance[] = [];
      if (options.variant === "single") {
        const args = ["--network-port", "off", "--data", join(dataDir, "feed.db"), ...(options.loadTest ? ["--load-test"] : [])];
        instances.push(new SoakInstance(await ServerProcess.start(args, env), args, env));
      } else {
        redis = await RedisProcess.start();
        started.push({ close: () => redis!.destroy() });
        const clusterEnv = { ...env, WIRELAB_REDIS_PREFIX: `wirelab-soak:${randomBytes(4).toString("hex")}:` };
        const args = ["--network-port", "off", "--redis", redis.url];
        for (let i = 0; i < 2; i++) instances.push(new SoakInstance(await ServerProcess.start(args, clusterEnv), args, clusterEnv));
      }
      for (const instance of instances) started.push({ close: () => instance.process.stop() });
      const door = instances.length > 1 ? await FrontDoor.start(instances.map((i) => ({ host: "127.0.0.1", port: i.port }))) : null;
      if (door) started.push(door);
      const target = door ? Number(new URL(door.url).port) : instances[0]!.port;
      const emulator = await NetworkEmulator.start({ target: { host: "127.0.0.1", port: target }, random: options.random });
      started.push(emulator);
      const controlUrl = door?.url ?? instances[0]!.url;
      const admin = new SessionKeeper({ baseUrl: controlUrl, session: await JsonClient.createSession(controlUrl, "soak", { instructorKey }) });
      admin.start();
      return new SoakSystem(options.variant, instances, emulator, door, redis, admin, instructorKey, dataDir);
    } catch (error) {
      for (const part of started.reverse()) await part.close().catch(() => {});
      await rm(dataDir, { recursive: true, force: true });
      throw error;
    }
  }

  /** Where the clients connect: through the emulator. */
  get url(): string {
    return this.emulator.url;
  }

  /** Around the faults: the front door, or the one instance. */
  get controlUrl(): string {
    return this.door?.url ?? this.instances[0]!.url;
  }

  /** Run one fault to its end: the network conditions are lifted and the instances are back when this resolves. */
  async apply(fault: Fault): Promise<void> {
    const selector = (target: FaultTarget) => (target === "all" ? {} : { transport: target });
    switch (fault.kind) {
      case "drop":
        this.emulator.drop({ ...selector(fault.target), mode: fault.mode });
        return;
      case "blackhole":
        this.emulator.blackhole({ ...selector(fault.target), on: true });
        await sleep(fault.ms);
        this.emulator.blackhole({ ...selector(fault.target), on: false });
        return;
      case "latency":
        this.emulator.setConditions({ up: { latencyMs: fault.latencyMs }, down: { latencyMs: fault.latencyMs } }, selector(fault.target));
        await sleep(fault.ms);
        this.emulator.clearConditions(selector(fault.target));
        return;
      case "bandwidth":
        this.emulator.setConditions({ up: { bandwidthBytesPerSec: fault.bytesPerSec }, down: { bandwidthBytesPerSec: fault.bytesPerSec } }, selector(fault.target));
        await sleep(fault.ms);
        this.emulator.clearConditions(selector(fault.target));
        return;
      case "restart":
        await new WorkbenchApi(this.instances[fault.instance]!.url, this.admin.tokenSource).restartAndWait(fault.downtimeMs);
        return;
      case "kill": {
        const instance = this.instances[fault.instance]!;
        await instance.kill();
        await sleep(fault.downtimeMs);
        await instance.startAgain();
        return;
      }
      case "redis-restart":
        if (!this.redis) throw new Error("a Redis restart needs the cluster variant");
        await this.redis.stop();
        await sleep(fault.downtimeMs);
        await this.redis.resume();
        return;
    }
  }

  /** A room's whole history as the server holds it, page by page, read around the faults. */
  async history(room: string): Promise<Message[]> {
    const api = new JsonClient(this.controlUrl, { token: this.admin.tokenSource });
    const messages: Message[] = [];
    for (let since = 0; ; ) {
      const page = await api.get<PollResponse>(`/v1/rooms/${encodeURIComponent(room)}/messages?since=${since}&limit=${LIMITS.pollLimitMax}`);
      messages.push(...page.messages);
      if (page.messages.length === 0) return messages;
      since = page.messages.at(-1)!.seq;
    }
  }

  async close(): Promise<void> {
    this.admin.stop();
    await this.emulator.close();
    await this.door?.close();
    await Promise.all(this.instances.map((i) => i.process.stop()));
    await this.redis?.destroy();
    await rm(this.dataDir, { recursive: true, force: true });
  }
}
