import { Presets, SingleBar } from 'cli-progress';

/**
 * A terminal progress bar. Training keeps the event loop busy, so timer-driven redraws would never fire:
 * the bar is redrawn from tick() itself, and without a TTY (logs, CI) a plain line is printed at most every 10 s.
 */
export function progressBar(total: number, label: string): { tick(note?: string): void; stop(): void } {
  if (!process.stdout.isTTY) {
    let done = 0;
    let last = 0;
    const started = Date.now();
    return {
      tick: (note = '') => {
        done++;
        if (Date.now() - last < 10000 && done < total) return;
        last = Date.now();
        const elapsed = (Date.now() - started) / 1000;
        const eta = done > 0 ? Math.round((elapsed / done) * (total - done)) : 0;
        console.log(
          `${label} ${done}/${total} (${Math.round((100 * done) / total)}%) elapsed ${Math.round(elapsed)}s eta ${eta}s ${note}`,
        );
      },
      stop: () => undefined,
    };
  }
  const bar = new SingleBar(
    {
      format: `${label} [{bar}] {percentage}% | {value}/{total} | ETA {eta_formatted} | {note}`,
      hideCursor: true,
    },
    Presets.shades_classic,
  );
  bar.start(total, 0, { note: '' });
  return {
    tick: (note = '') => {
      bar.increment(1, { note });
      bar.render();
    },
    stop: () => bar.stop(),
  };
}
