/** Polls `probe` until it returns a value (not undefined), or fails naming `what` after `seconds`. */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  seconds = 120,
  pollMs = 100,
): Promise<T> {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}
