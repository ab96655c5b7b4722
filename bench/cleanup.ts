/**
 * Stop actions of one benchmark phase, run in reverse order of registration, so the parts that use a
 * server stop before the server. A failing or hanging stop is reported and the next one runs anyway.
 */
export class Cleanup {
  private readonly actions: Array<{ name: string; stop: () => Promise<void> }> = [];

  add(name: string, stop: () => Promise<void>): void {
    this.actions.push({ name, stop });
  }

  async run(timeoutMs = 30_000): Promise<void> {
    for (const action of this.actions.splice(0).reverse()) {
      let timer: NodeJS.Timeout | undefined;
      const expired = new Promise<'expired'>((resolve) => {
        timer = setTimeout(resolve, timeoutMs, 'expired');
      });
      try {
        const outcome = await Promise.race([action.stop().then(() => 'stopped' as const), expired]);
        if (outcome === 'expired') process.stderr.write(`[bench] stopping ${action.name} took longer than ${timeoutMs} ms; going on\n`);
      } catch (error) {
        process.stderr.write(`[bench] stopping ${action.name} failed: ${(error as Error).message}\n`);
      } finally {
        clearTimeout(timer);
      }
    }
  }
}
