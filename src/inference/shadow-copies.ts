import { Inject, Injectable, Logger } from '@nestjs/common';
import { EventBus } from '../common/events/event-bus';
import { messageOf } from '../common/values';
import { RolloutConfig, rolloutConfig } from '../config/rollout.config';
import { InferenceResult } from './inference.types';
import { agreementOf } from './shadow-agreement';

/**
 * The shadow's copies of requests the champion answered: run after the
 * answer went out, never awaited by the caller, never answering anyone.
 * At most ROLLOUT_SHADOW_MAX_IN_FLIGHT run at once; a copy beyond that is
 * dropped and counted, never queued, so a slow or stuck challenger costs
 * the champion's callers nothing but those slots. Each pair is compared
 * (shadow-agreement.ts) and told as a `rollout.shadowed` event.
 */
@Injectable()
export class ShadowCopies {
  private readonly logger = new Logger(ShadowCopies.name);
  private inFlight = 0;
  /** Failures logged once per model until a copy of it answers again, so a broken challenger does not flood the log. */
  private readonly failing = new Set<string>();

  constructor(
    @Inject(rolloutConfig.KEY) private readonly config: Pick<RolloutConfig, 'shadowMaxInFlight'>,
    private readonly events: EventBus,
  ) {}

  /** Copies running now. */
  get running(): number {
    return this.inFlight;
  }

  /**
   * Sends the copy `predict` makes, for the champion's `answer`. Returns at
   * once; the promise it gives settles when the copy is done (for tests), and never rejects.
   */
  send(answer: InferenceResult, predict: () => Promise<InferenceResult>): Promise<void> {
    const base = { name: answer.modelName, championVersion: answer.modelVersion };
    if (this.inFlight >= this.config.shadowMaxInFlight) {
      this.events.emit('rollout.shadowed', { ...base, outcome: 'dropped' });
      return Promise.resolve();
    }
    this.inFlight++;
    return this.run(answer, predict, base).finally(() => this.inFlight--);
  }

  private async run(
    answer: InferenceResult,
    predict: () => Promise<InferenceResult>,
    base: { name: string; championVersion: string },
  ): Promise<void> {
    let copy: InferenceResult;
    try {
      copy = await predict();
    } catch (error) {
      this.events.emit('rollout.shadowed', { ...base, outcome: 'failed' });
      if (!this.failing.has(base.name)) {
        this.failing.add(base.name);
        this.logger.warn(`${base.name}: the shadow's copy failed: ${messageOf(error)}`);
      }
      return;
    }
    this.failing.delete(base.name);
    let agreement: ReturnType<typeof agreementOf>;
    try {
      agreement = agreementOf(answer.outputs, copy.outputs);
    } catch (error) {
      // Nobody awaits a copy: a pair that cannot be compared is said, never thrown.
      this.logger.warn(
        `${base.name}: the shadow's pair could not be compared: ${messageOf(error)}`,
      );
      agreement = {};
    }
    this.events.emit('rollout.shadowed', {
      ...base,
      challengerVersion: copy.modelVersion,
      outcome: 'compared',
      ...agreement,
    });
  }
}
