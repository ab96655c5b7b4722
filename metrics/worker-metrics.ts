import type { InjectedSinks } from '@temporalio/worker';
import { Counter, Histogram, type Registry } from 'prom-client';
import type { CommandPublisher } from '../activities';
import { parseCommandTopic } from '../protocol';
import type { UpgradeOutcome, UpgradeTrigger, WorkflowMetricSinks } from './workflow-metric-sinks';

/** Returns the path of the workflow interceptor module that feeds the sinks, next to this file in source and in dist. */
export function workflowMetricsInterceptorsPath(): string {
  // Resolved when a worker is created, not when this module loads: a program that loads this module
  // without bundling workflows need not ship the interceptor module.
  return require.resolve('./workflow-interceptors');
}

const TRIGGERS: readonly UpgradeTrigger[] = ['request', 'campaign'];
const UNREASONED_OUTCOMES: readonly UpgradeOutcome[] = ['succeeded', 'cancelled'];

// An upgrade takes from seconds (a device that has the version already) to hours (retries with backoff).
const UPGRADE_DURATION_BUCKETS_SECONDS = [1, 5, 15, 30, 60, 120, 300, 600, 1_200, 1_800, 3_600, 7_200, 14_400, 43_200];
// A publish waits for the broker's PUBACK, which takes milliseconds unless the broker is overloaded.
const PUBLISH_BUCKETS_SECONDS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * Metrics of the worker: device upgrades and campaigns as the workflows report them through sinks, and
 * the commands the activities publish. The Temporal SDK's own metrics (task queues, polls, activity and
 * workflow task latencies) come from its core exporter, which the worker's /metrics appends.
 */
export class WorkerMetrics {
  readonly upgradesStarted: Counter<'trigger'>;
  readonly upgradesFinished: Counter<'trigger' | 'outcome' | 'reason'>;
  readonly upgradeDuration: Histogram<'trigger' | 'outcome'>;
  readonly campaignsStarted: Counter;
  readonly campaignsFinished: Counter<'state'>;
  readonly campaignDevicesFinished: Counter<'outcome' | 'reason'>;
  readonly commandPublishes: Counter<'command' | 'result'>;
  readonly commandPublishDuration: Histogram<'command' | 'result'>;

  constructor(registry: Registry) {
    if (registry.getSingleMetric('ota_upgrades_started_total')) {
      throw new Error('the metrics registry already contains worker metrics: run one worker service per ProcessMetrics, or give each worker its own');
    }
    const registers = [registry];
    this.upgradesStarted = new Counter({
      name: 'ota_upgrades_started_total',
      help: 'Device upgrade workflows started, by trigger (request or campaign)',
      labelNames: ['trigger'],
      registers,
    });
    this.upgradesFinished = new Counter({
      name: 'ota_upgrades_finished_total',
      help: 'Device upgrade workflows ended, by trigger, outcome (succeeded, failed, cancelled, skipped) and the failure or skip reason',
      labelNames: ['trigger', 'outcome', 'reason'],
      registers,
    });
    this.upgradeDuration = new Histogram({
      name: 'ota_upgrade_duration_seconds',
      help: 'Workflow time from the start of a device upgrade to its end, by trigger and outcome',
      labelNames: ['trigger', 'outcome'],
      buckets: UPGRADE_DURATION_BUCKETS_SECONDS,
      registers,
    });
    this.campaignsStarted = new Counter({
      name: 'ota_campaigns_started_total',
      help: 'Campaign workflow runs started, without the runs that continue a campaign as new',
      registers,
    });
    this.campaignsFinished = new Counter({
      name: 'ota_campaigns_finished_total',
      help: 'Campaigns ended, by final state (completed, aborted, cancelled, failed)',
      labelNames: ['state'],
      registers,
    });
    this.campaignDevicesFinished = new Counter({
      name: 'ota_campaign_devices_finished_total',
      help: 'Device outcomes campaigns recorded, by outcome (succeeded, failed, timed_out, skipped, cancelled) and reason',
      labelNames: ['outcome', 'reason'],
      registers,
    });
    this.commandPublishes = new Counter({
      name: 'ota_command_publishes_total',
      help: 'Commands published to devices, by command name and result (acknowledged by the broker, or failed)',
      labelNames: ['command', 'result'],
      registers,
    });
    this.commandPublishDuration = new Histogram({
      name: 'ota_command_publish_duration_seconds',
      help: 'Time from publishing a command to the broker acknowledging it (PUBACK), by command name and result',
      labelNames: ['command', 'result'],
      buckets: PUBLISH_BUCKETS_SECONDS,
      registers,
    });

    // Failed and skipped upgrades carry a reason, so their series appear with the first one.
    for (const trigger of TRIGGERS) {
      this.upgradesStarted.inc({ trigger }, 0);
      for (const outcome of UNREASONED_OUTCOMES) this.upgradesFinished.inc({ trigger, outcome }, 0);
    }
    this.campaignsStarted.inc(0);
  }

  /** Sinks for the worker's `sinks` option; the SDK skips their calls while it replays a history. */
  sinks(): InjectedSinks<WorkflowMetricSinks> {
    return {
      otaMetrics: {
        upgradeStarted: { fn: (_info, trigger) => this.upgradesStarted.inc({ trigger }) },
        upgradeFinished: {
          fn: (_info, { trigger, outcome, reason, durationMs }) => {
            this.upgradesFinished.inc({ trigger, outcome, ...(reason === null ? {} : { reason }) });
            this.upgradeDuration.observe({ trigger, outcome }, durationMs / 1000);
          },
        },
        campaignStarted: { fn: () => this.campaignsStarted.inc() },
        campaignFinished: { fn: (_info, state) => this.campaignsFinished.inc({ state }) },
        campaignOutcomesRecorded: {
          fn: (_info, counts) => {
            for (const { outcome, reason, count } of counts) this.campaignDevicesFinished.inc({ outcome, ...(reason === null ? {} : { reason }) }, count);
          },
        },
      },
    };
  }

  /** Wraps a publisher so that each publish is timed and counted by command name and result. */
  instrumentPublisher(publisher: CommandPublisher): CommandPublisher {
    return {
      publish: async (topic, payload) => {
        // The command name is one of the few the engine sends, never a device name, so it is a safe label.
        const command = parseCommandTopic(topic)?.commandName ?? 'unknown';
        const stopTimer = this.commandPublishDuration.startTimer({ command });
        try {
          await publisher.publish(topic, payload);
        } catch (error) {
          stopTimer({ result: 'failed' });
          this.commandPublishes.inc({ command, result: 'failed' });
          throw error;
        }
        stopTimer({ result: 'acknowledged' });
        this.commandPublishes.inc({ command, result: 'acknowledged' });
      },
    };
  }
}
