import { BeforeApplicationShutdown, Inject, Injectable, OnApplicationBootstrap } from '@nestjs/common';
import {
  AnnotationsRepository,
  ItemsRepository,
  LabelStudioAnnotationsRepository,
  LabelStudioConnectorsRepository,
  type LabelStudioEventRecord,
  LabelStudioEventsRepository,
  ProjectsRepository,
  type ProjectRecord,
} from '@labelloop/db';
import { LOGGER, Metrics } from '@labelloop/observability';
import type { Logger } from 'pino';
import { RetrainTrigger } from '../training/retrain-trigger';
import { LabelConfigError, parseLabelConfig } from './label-config';
import { LabelStudioTasksService, type TaskItem } from './label-studio-tasks.service';
import { choiceOf } from './task-mapping';
import type { AnnotationEventPayload, DeletionEventPayload } from './webhook-intake.service';

/** Attempts per event before it is given up on (listed in the connector's status). */
export const MAX_EVENT_ATTEMPTS = 5;
/** How often a process looks for events to retry or left behind by a process that died. */
const POLL_MS = 2_000;
const BATCH = 200;
const PROJECTS_PER_PASS = 20;

/** An event that can never apply (retrying would not help): given up on at once. */
class PermanentEventError extends Error {}

/**
 * Applies stored Label Studio events after their webhook was answered. Events of a project are applied in
 * arrival order by one process at a time (a per-project advisory lock), so an update never overtakes its
 * creation; a failing event holds back the project's later events until it succeeds or is given up on
 * (exponential backoff, MAX_EVENT_ATTEMPTS). Started on each webhook, every POLL_MS, and at start-up, which
 * picks up what a crashed process left. An event is marked processed after its annotation is written:
 * a crash between the two replays it once (at least once); otherwise each event is applied exactly once.
 */
@Injectable()
export class WebhookProcessor implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private running: Promise<void> | null = null;
  private again = false;
  private stopped = false;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly events: LabelStudioEventsRepository,
    private readonly connectors: LabelStudioConnectorsRepository,
    private readonly mapping: LabelStudioAnnotationsRepository,
    private readonly annotations: AnnotationsRepository,
    private readonly items: ItemsRepository,
    private readonly projects: ProjectsRepository,
    private readonly tasks: LabelStudioTasksService,
    private readonly retrain: RetrainTrigger,
    private readonly metrics: Metrics,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => this.kick(), POLL_MS);
    this.timer.unref();
    this.kick();
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }

  /** Starts a drain unless one runs; one that runs goes round once more. Never throws. */
  kick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.drain()
      .catch((error: Error) => this.logger.warn({ err: error.message }, 'label studio event drain failed'))
      .finally(() => {
        this.running = null;
        if (this.again && !this.stopped) {
          this.again = false;
          this.kick();
        }
      });
  }

  /** Resolves once nothing is running (tests, shutdown). */
  idle(): Promise<void> {
    return this.running ?? Promise.resolve();
  }

  private async drain(): Promise<void> {
    for (;;) {
      this.again = false;
      let applied = 0;
      for (const projectId of await this.events.projectsWithDueEvents(
        MAX_EVENT_ATTEMPTS,
        PROJECTS_PER_PASS,
      )) {
        if (this.stopped) return;
        await this.events.withDrainLock(projectId, async () => {
          applied += await this.drainProject(projectId);
        });
      }
      if (applied === 0 || this.stopped) return;
    }
  }

  private async drainProject(projectId: string): Promise<number> {
    const project = await this.projects.findById(projectId);
    if (!project) return 0;
    let applied = 0;
    while (!this.stopped) {
      const batch = await this.events.nextDue(projectId, MAX_EVENT_ATTEMPTS, BATCH);
      if (batch.length === 0) return applied;
      const items = await this.prepareItems(project, batch);
      for (const event of batch) {
        if (this.stopped) return applied;
        try {
          await this.apply(project, event, items);
          await this.events.markProcessed(event.id);
          applied++;
        } catch (error) {
          await this.failed(event, error as Error);
          // Later events wait for this one (ordering), unless it was given up on.
          if (!(error instanceof PermanentEventError)) return applied;
        }
      }
    }
    return applied;
  }

  private async failed(event: LabelStudioEventRecord, error: Error): Promise<void> {
    const permanent = error instanceof PermanentEventError || event.attempts + 1 >= MAX_EVENT_ATTEMPTS;
    const retryAt = permanent ? null : new Date(Date.now() + 1000 * 2 ** event.attempts);
    await this.events.markFailed(event.id, error.message, retryAt, MAX_EVENT_ATTEMPTS);
    this.logger.warn(
      { projectId: event.projectId, eventId: event.id, action: event.action, err: error.message, permanent },
      'label studio event failed',
    );
  }

  /**
   * The items of a batch's annotated tasks in one go: unseen tasks are imported in one transaction instead
   * of one per event. Best effort: an event whose task is missing here resolves it on its own.
   */
  private async prepareItems(
    project: ProjectRecord,
    batch: LabelStudioEventRecord[],
  ): Promise<Map<number, TaskItem>> {
    const prepared = new Map<number, TaskItem>();
    const byConnector = new Map<string, AnnotationEventPayload[]>();
    for (const event of batch) {
      if (event.action === 'ANNOTATIONS_DELETED') continue;
      const payload = event.payload as AnnotationEventPayload;
      if (payload.task.data === null) continue;
      byConnector.set(event.connectorId, [...(byConnector.get(event.connectorId) ?? []), payload]);
    }
    for (const [connectorId, payloads] of byConnector) {
      try {
        const target = await this.target(connectorId, payloads[0].labelConfig);
        const tasks = [
          ...new Map(payloads.map((p) => [p.task.id, { id: p.task.id, data: p.task.data! }])).values(),
        ];
        const items = await this.tasks.itemsFor(
          project,
          tasks,
          target.dataKey,
          target.host,
          'label-studio',
          false,
        );
        tasks.forEach((task, i) => prepared.set(task.id, items[i]));
      } catch (error) {
        this.logger.debug(
          { projectId: project.id, err: (error as Error).message },
          'batch item preparation skipped',
        );
      }
    }
    return prepared;
  }

  private apply(
    project: ProjectRecord,
    event: LabelStudioEventRecord,
    items: Map<number, TaskItem>,
  ): Promise<void> {
    if (event.action === 'ANNOTATIONS_DELETED') {
      return this.applyDeletion(project, (event.payload as DeletionEventPayload).annotationId);
    }
    return this.applyAnnotation(project, event.connectorId, event.payload as AnnotationEventPayload, items);
  }

  /** A created or updated annotation: recorded with LS's annotator; a skip or empty choice takes its label back. */
  private async applyAnnotation(
    project: ProjectRecord,
    connectorId: string,
    payload: AnnotationEventPayload,
    items: Map<number, TaskItem>,
  ) {
    const target = await this.target(connectorId, payload.labelConfig);
    const known = items.get(payload.task.id);
    const [entry] =
      known && !('error' in known)
        ? [known]
        : await this.tasks.itemsFor(
            project,
            [{ id: payload.task.id, data: payload.task.data ?? {} }],
            target.dataKey,
            target.host,
            'label-studio',
            false,
          );
    if ('error' in entry) {
      if (payload.task.data === null)
        throw new PermanentEventError(`${entry.error} (the event carries no task data)`);
      throw new Error(entry.error);
    }
    const annotator = `label-studio:${payload.annotation.completedBy ?? 'unknown'}`;
    const label = payload.annotation.wasCancelled
      ? null
      : choiceOf(payload.annotation.result, target.fromName);
    if (label !== null) await this.checkLabel(project.id, payload.task.id, label, target.setupDone);
    const previous = await this.mapping.record(project.id, {
      lsAnnotationId: String(payload.annotation.id),
      itemId: entry.item.id,
      label,
      annotator,
      lsUpdatedAt: payload.annotation.updatedAt ?? '',
    });
    if (label !== null) {
      const leadTimeMs =
        payload.annotation.leadTimeSeconds === null
          ? null
          : Math.round(payload.annotation.leadTimeSeconds * 1000);
      const written = await this.annotations.appendForItem({
        itemId: entry.item.id,
        label,
        annotator,
        leadTimeMs,
        source: 'human',
        scopeProjectId: project.id,
      });
      if (!written) {
        // The item went away or the label set changed since checkLabel: the retry settles it (the mapping
        // row is rewritten then, or the label is refused before it).
        throw new Error(
          `task ${payload.task.id}: label ${JSON.stringify(label)} could not be written (item gone, or no longer in the project's label set)`,
        );
      }
      this.metrics.recordLabel(project.id, annotator, leadTimeMs ?? undefined);
      await this.retrain.labelWritten(project.id);
    } else if (previous?.label && !previous.deleted) {
      await this.settleItem(project, entry.item.id, annotator);
    }
  }

  /**
   * Refuses a label outside the project's label set before anything (the mapping included) is written. The
   * labels are read now, not once per drain: a /setup may have adopted LS's choices meanwhile. Before any
   * /setup such a label is retried (the first /setup may still adopt it); after it, it never applies.
   */
  private async checkLabel(projectId: string, taskId: number, label: string, setupDone: boolean) {
    const labels = (await this.projects.findById(projectId))?.labels ?? [];
    if (labels.includes(label)) return;
    const message = `task ${taskId}: label ${JSON.stringify(label)} is not in the project's label set: ${labels.join(', ')}`;
    if (!setupDone) throw new Error(`${message} (retried: Label Studio's first /setup may still adopt it)`);
    throw new PermanentEventError(message);
  }

  /** LS sends deletions as ids only; the mapping finds the item. One never seen is nothing to undo. */
  private async applyDeletion(project: ProjectRecord, lsAnnotationId: number) {
    const gone = await this.mapping.markDeleted(project.id, String(lsAnnotationId));
    if (gone?.label) await this.settleItem(project, gone.itemId, gone.annotator);
  }

  /**
   * After an LS label went away: the item takes the label of its newest remaining LS annotation, or, with
   * none left, a retraction makes it unlabeled again.
   */
  private async settleItem(project: ProjectRecord, itemId: string, annotator: string) {
    const remaining = await this.mapping.newestLive(itemId);
    if (remaining) {
      const item = await this.items.findById(itemId);
      if (item?.label === remaining.label) return;
      await this.annotations.appendForItem({
        itemId,
        label: remaining.label!,
        annotator: remaining.annotator,
        leadTimeMs: null,
        source: 'human',
        scopeProjectId: project.id,
      });
    } else {
      await this.annotations.retractForItem({
        itemId,
        annotator,
        source: 'human',
        scopeProjectId: project.id,
      });
    }
    await this.retrain.labelWritten(project.id);
  }

  /** The control and data key to read events with: from the connector's /setup, else the event's config. */
  private async target(connectorId: string, eventConfig: string | null) {
    const connector = await this.connectors.findById(connectorId);
    const host = {
      hostname: connector?.setup?.lsHostname ?? null,
      accessToken: connector?.setup?.lsAccessToken ?? null,
    };
    if (connector?.setup) {
      return { fromName: connector.setup.fromName, dataKey: connector.setup.dataKey, host, setupDone: true };
    }
    try {
      const config = parseLabelConfig(eventConfig);
      return { fromName: config.fromName, dataKey: config.dataKey, host, setupDone: false };
    } catch (error) {
      if (!(error instanceof LabelConfigError)) throw error;
      // Retried: a /setup may come along meanwhile.
      throw new Error(`no usable label config (no /setup yet, and the event's: ${error.message})`);
    }
  }
}
