import { Injectable } from '@nestjs/common';

/** One dependency the process needs to do its work (database, Redis, object store...). */
export interface HealthIndicator {
  name: string;
  check(): Promise<void>;
}

export interface ReadinessReport {
  status: 'ok' | 'error';
  checks: Record<string, { status: 'ok' | 'error'; ms: number; error?: string }>;
}

const CHECK_TIMEOUT_MS = 2_000;

/**
 * Readiness = every registered dependency answers, and the process is not draining.
 * Draining flips first on SIGTERM so load balancers stop sending work before shutdown.
 */
@Injectable()
export class HealthService {
  private readonly indicators: HealthIndicator[] = [];
  private draining = false;

  register(indicator: HealthIndicator): void {
    this.indicators.push(indicator);
  }

  markDraining(): void {
    this.draining = true;
  }

  async readiness(): Promise<ReadinessReport> {
    const checks: ReadinessReport['checks'] = {};
    await Promise.all(
      this.indicators.map(async (indicator) => {
        const started = performance.now();
        try {
          await withTimeout(indicator.check(), CHECK_TIMEOUT_MS, `${indicator.name} did not answer`);
          checks[indicator.name] = { status: 'ok', ms: Math.round(performance.now() - started) };
        } catch (error) {
          checks[indicator.name] = {
            status: 'error',
            ms: Math.round(performance.now() - started),
            error: (error as Error).message,
          };
        }
      }),
    );
    if (this.draining) checks.shutdown = { status: 'error', ms: 0, error: 'shutting down' };
    const ok = Object.values(checks).every((check) => check.status === 'ok');
    return { status: ok ? 'ok' : 'error', checks };
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${message} within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
