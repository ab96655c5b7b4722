import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

// Custom search attributes of the engine's workflows. The dev server's SQLite store allows at most
// 10 Keyword and 3 Int attributes of a namespace's own, so this list stays within that.
export const OtaProduct = defineSearchAttributeKey('OtaProduct', SearchAttributeType.KEYWORD);
export const OtaDevice = defineSearchAttributeKey('OtaDevice', SearchAttributeType.KEYWORD);
export const OtaTargetVersion = defineSearchAttributeKey('OtaTargetVersion', SearchAttributeType.KEYWORD);
export const OtaCampaign = defineSearchAttributeKey('OtaCampaign', SearchAttributeType.KEYWORD);
/** Phase of a device upgrade (downloading, succeeded, ...) or state of a campaign (running, paused, ...). */
export const OtaState = defineSearchAttributeKey('OtaState', SearchAttributeType.KEYWORD);
export const OtaFailureReason = defineSearchAttributeKey('OtaFailureReason', SearchAttributeType.KEYWORD);
export const OtaAttempt = defineSearchAttributeKey('OtaAttempt', SearchAttributeType.INT);

/** Every custom search attribute, for registering them on a namespace. */
export const ALL_SEARCH_ATTRIBUTES = [
  OtaProduct,
  OtaDevice,
  OtaTargetVersion,
  OtaCampaign,
  OtaState,
  OtaFailureReason,
  OtaAttempt,
] as const;
