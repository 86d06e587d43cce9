/**
 * The soak's one source of chance: every fault, target, duration and send interval is drawn from
 * here, so one seed names one fault schedule and `--seed N` replays it. pure-rand's
 * xoroshiro128+ (fast-check's own generator), not Math.random, which cannot be seeded.
 */
import { uniformFloat64 } from "pure-rand/distribution/uniformFloat64";
import { uniformInt } from "pure-rand/distribution/uniformInt";
import { xoroshiro128plus } from "pure-rand/generator/xoroshiro128plus";
import type { RandomGenerator } from "pure-rand/types/RandomGenerator";

export class SeededRandom {
  readonly #rng: RandomGenerator;

  constructor(readonly seed: number) {
    this.#rng = xoroshiro128plus(seed);
  }

  /** A seed for a fresh run: printed, so the run can be replayed. */
  static freshSeed(): number {
    return Math.floor(Math.random() * 2 ** 31);
  }

  /** In [0, 1). */
  next(): number {
    return uniformFloat64(this.#rng);
  }

  /** An integer in [from, to], both included. */
  int(from: number, to: number): number {
    return uniformInt(this.#rng, from, to);
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError("pick from an empty list");
    return items[this.int(0, items.length - 1)]!;
  }

  /** A copy of `items` in a random order (Fisher–Yates). */
  shuffle<T>(items: readonly T[]): T[] {
    const copy = [...items];
    for (let i = copy.length - 1; i > 0; i--) {
      const j = this.int(0, i);
      [copy[i], copy[j]] = [copy[j]!, copy[i]!];
    }
    return copy;
  }

  /** An independent stream for one consumer (a client's sends), so adding clients does not shift the faults. */
  fork(): SeededRandom {
    return new SeededRandom(this.int(0, 2 ** 31 - 1));
  }
}
