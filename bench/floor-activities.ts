/**
 * Creates the floor's one activity per child, which notifies the floor's signal client that the child
 * runs. It stands for the engine's publish activity, with a local HTTP request in place of MQTT.
 */
export function createFloorActivities(notifyUrl: string) {
  return {
    async notifyChildStarted(input: { workflowId: string }): Promise<void> {
      const response = await fetch(notifyUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(input),
        signal: AbortSignal.timeout(10_000),
      });
      await response.body?.cancel();
      if (!response.ok) throw new Error(`signal client at ${notifyUrl} returned HTTP ${response.status} for ${input.workflowId}`);
    },
  };
}

export type FloorActivities = ReturnType<typeof createFloorActivities>;
