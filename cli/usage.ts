import {
  CAMPAIGN_LIST_LIMIT,
  DEFAULT_WATCH_INTERVAL_MS,
  DEVICE_LIST_LIMIT,
  DEVICE_OUTCOMES,
  MAX_TIMEOUT_MS,
  MIN_TIMEOUT_MS,
  MIN_WATCH_INTERVAL_MS,
  type HelpTopic,
} from './args';
import { DEFAULT_TIMEOUT_MS } from './api-client';
import { DEFAULT_API_URL } from './api-url';

const GLOBAL_OPTIONS = `Options of every command:
  --api URL            base URL of the OTA API (default: OTA_API_URL, else ${DEFAULT_API_URL})
  --token TOKEN        bearer token of the API, sent as 'Authorization: Bearer' (default: OTA_API_TOKEN, else
                       none); prefer OTA_API_TOKEN, because other users of the host can see command lines
  --timeout-ms N       time one request may take, in ms, from ${MIN_TIMEOUT_MS} to ${MAX_TIMEOUT_MS} (default ${DEFAULT_TIMEOUT_MS})
  --json               print the API's response as JSON instead of text (every command but watch)
  -h, --help           print help`;

const EXIT_CODES = `Exit codes: 0 success; 1 the API failed, could not be reached or rejected the request, or a watched
campaign did not complete; 2 invalid command line or input file, and nothing was sent; 130 Ctrl-C.`;

const MAIN_USAGE = `Usage: ota [options] <command>

Starts and follows OTA firmware upgrades through the campaign engine's HTTP API.

Commands:
  campaign start FILE               create a campaign from a JSON or YAML file
  campaign list                     list campaigns, newest first
  campaign show ID                  show a campaign's state and counts
  campaign pause|resume|cancel ID   control a running campaign
  campaign retry-failed ID          upgrade the failed and timed-out devices of an ended campaign again
  campaign devices ID               list the outcome of each device
  campaign watch ID                 follow a campaign's progress until it ends
  upgrade start PRODUCT DEVICE      upgrade one device
  upgrade show PRODUCT DEVICE       show one device's latest report and upgrade

Run 'ota campaign --help' or 'ota upgrade --help' for each command's options.

${GLOBAL_OPTIONS}

${EXIT_CODES}`;

const CAMPAIGN_USAGE = `Usage: ota campaign <command> [options]

Commands:
  start FILE
      Create a campaign. FILE contains the body of POST /campaigns as JSON (.json) or YAML (.yaml, .yml);
      with another extension the format is recognised from the content. The file is checked against the
      API's schema first, and every invalid field is reported with its line. Prints the campaign's id and
      whether it was created or already existed. Set 'id' in the file so that running the command again
      returns the existing campaign instead of starting a second one. In YAML, quote versions such as "1.10",
      which YAML would otherwise read as the number 1.1.

  list [--limit N] [--before CURSOR]
      Table of campaigns, newest first: id, product, version, state, % done and device counts. The counts
      come from the summary each campaign stores, which can be a few seconds behind 'show'.
      --limit N          campaigns per page, from ${CAMPAIGN_LIST_LIMIT.min} to ${CAMPAIGN_LIST_LIMIT.max} (default 20)
      --before CURSOR    the page after the one that printed this cursor

  show ID
      State, counts per outcome, devices in flight and not started, % done, first wave, abort reason and times.

  pause ID | resume ID | cancel ID
      Pause stops starting devices and lets those in flight finish; resume continues; cancel also cancels
      the devices in flight. Prints the new state. When the campaign's state does not allow the action, the
      API's message is printed and the exit code is 1.

  retry-failed ID
      Start another round over the failed and timed-out devices of a campaign whose workflow has ended.

  devices ID [--outcome OUTCOME] [--limit N] [--after NAME]
      Table of device outcomes in device name order: outcome, reason, attempts, last progress, round, time.
      --outcome OUTCOME  only devices with this outcome: ${DEVICE_OUTCOMES.join(', ')} (default: all)
      --limit N          devices per page, from ${DEVICE_LIST_LIMIT.min} to ${DEVICE_LIST_LIMIT.max} (default 100)
      --after NAME       start after this device name, the last one of the previous page

  watch ID [--interval-ms N]
      Redraw a progress bar with the counts per outcome until the campaign's workflow ends, then print the
      final state. Exits 0 when the campaign completed and 1 when it was aborted or cancelled or its
      workflow failed. Without a terminal, prints one line per change instead. Ctrl-C stops watching and
      leaves the campaign running (exit code 130).
      --interval-ms N    time between two reads, in ms, at least ${MIN_WATCH_INTERVAL_MS} (default ${DEFAULT_WATCH_INTERVAL_MS})

${GLOBAL_OPTIONS}

${EXIT_CODES}`;

const UPGRADE_USAGE = `Usage: ota upgrade <command> [options]

Commands:
  start PRODUCT DEVICE --version V --url U --size N --md5 M [--type T]
      Upgrade one device, as POST /ota/PRODUCT/DEVICE with the configured timeouts and retry policy.
      Fails with the API's message when an upgrade of the device is already running.
      --version V        firmware version to install, such as 1.1
      --url U            http or https URL the device downloads the package from
      --size N           package size in bytes
      --md5 M            MD5 of the package, 32 hexadecimal digits
      --type T           package type (default firmware)

  show PRODUCT DEVICE
      The device's latest progress report and its latest upgrade: status, phase, attempts and failure.

${GLOBAL_OPTIONS}

${EXIT_CODES}`;

/** Returns the help text of a topic. */
export function usageText(topic: HelpTopic): string {
  switch (topic) {
    case 'main':
      return MAIN_USAGE;
    case 'campaign':
      return CAMPAIGN_USAGE;
    case 'upgrade':
      return UPGRADE_USAGE;
  }
}
