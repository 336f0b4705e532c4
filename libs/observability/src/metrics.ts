import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** How many (project, annotator) series labels_total keeps before it counts new annotators as "(other)". */
export const MAX_ANNOTATOR_SERIES = 1000;
export const OTHER_ANNOTATOR = '(other)';

/**
 * The process's Prometheus metrics. One registry per process so several app
 * instances in one test process do not collide.
 */
export class Metrics {
  readonly registry = new Registry();

  readonly httpRequestDuration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request latency by method, route pattern and status code',
    labelNames: ['method', 'route', 'status_code'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });

  readonly labelsTotal = new Counter({
    name: 'labels_total',
    help: 'Annotations recorded, by project and annotator',
    labelNames: ['project', 'annotator'] as const,
    registers: [this.registry],
  });

  readonly labelLeadTime = new Histogram({
    name: 'label_lead_time_seconds',
    help: 'Time an annotator spent on a label, as reported with it, by project',
    labelNames: ['project'] as const,
    buckets: [0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600],
    registers: [this.registry],
  });

  readonly tasksOpen = new Gauge({
    name: 'tasks_open',
    help: 'Tasks waiting to be handed out (including expired leases), by project',
    labelNames: ['project'] as const,
    registers: [this.registry],
  });

  readonly tasksLeased = new Gauge({
    name: 'tasks_leased',
    help: 'Tasks currently leased to an annotator, by project',
    labelNames: ['project'] as const,
    registers: [this.registry],
  });

  readonly jobDuration = new Histogram({
    name: 'job_duration_seconds',
    help: 'Time a queue job ran, by queue and outcome (completed or failed)',
    labelNames: ['queue', 'outcome'] as const,
    buckets: [0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600],
    registers: [this.registry],
  });

  readonly trainingDuration = new Histogram({
    name: 'training_duration_seconds',
    help: 'Time spent fitting a model (training only, not evaluation or storage), by project',
    labelNames: ['project'] as const,
    buckets: [0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600],
    registers: [this.registry],
  });

  readonly modelHoldoutAccuracy = new Gauge({
    name: 'model_holdout_accuracy',
    help: "Holdout accuracy of the project's promoted model, by project",
    labelNames: ['project'] as const,
    registers: [this.registry],
  });

  readonly itemsScoredTotal = new Counter({
    name: 'items_scored_total',
    help: 'Pool items scored by a promoted model, by project',
    labelNames: ['project'] as const,
    registers: [this.registry],
  });

  readonly queueJobs = new Gauge({
    name: 'queue_jobs',
    help: 'Jobs of a queue by state (waiting, active, delayed, failed)',
    labelNames: ['queue', 'state'] as const,
    registers: [this.registry],
  });

  private readonly collectors: (() => Promise<void>)[] = [];

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }

  /**
   * The (project, annotator) series labels_total has; past MAX_ANNOTATOR_SERIES of them, new annotators count
   * as `annotator="(other)"`: the name comes from the client (a labeling tool's `annotator` field), and each
   * distinct one would otherwise be a series kept and scraped for as long as the process lives.
   */
  private readonly annotatorSeries = new Set<string>();

  /** Counts one recorded label and, when the client sent it, its lead time. */
  recordLabel(project: string, annotator: string, leadTimeMs: number | undefined): void {
    const series = `${project}\n${annotator}`;
    if (!this.annotatorSeries.has(series)) {
      if (this.annotatorSeries.size < MAX_ANNOTATOR_SERIES) this.annotatorSeries.add(series);
      else annotator = OTHER_ANNOTATOR;
    }
    this.labelsTotal.inc({ project, annotator });
    if (leadTimeMs !== undefined) this.labelLeadTime.observe({ project }, leadTimeMs / 1000);
  }

  /** Registers work that refreshes gauges right before each scrape. */
  onCollect(collector: () => Promise<void>): void {
    this.collectors.push(collector);
  }

  async render(): Promise<string> {
    await Promise.all(this.collectors.map((collect) => collect()));
    return this.registry.metrics();
  }
}
