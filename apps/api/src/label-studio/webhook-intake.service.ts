import { HttpStatus, Inject, Injectable } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { LabelStudioEventsRepository, type NewLabelStudioEvent } from '@labelloop/db';
import { LOGGER } from '@labelloop/observability';
import type { Logger } from 'pino';
import { z } from 'zod';
import { findUnstorableString, unstorableReason } from '../common/unstorable-strings';
import { describeProblems, zodProblems } from '../common/zod';
import { TrainingService } from '../training/training.service';
import { LabelStudioAccess, type LabelStudioCaller } from './label-studio-access.service';
import { MAX_EVENT_ATTEMPTS, WebhookProcessor } from './webhook-processor.service';

/** What an annotation event keeps of LS's payload (the rest, e.g. the whole project, is not needed). */
export interface AnnotationEventPayload {
  annotation: {
    id: number;
    result: unknown;
    wasCancelled: boolean;
    completedBy: string | null;
    leadTimeSeconds: number | null;
    updatedAt: string | null;
  };
  task: { id: number; data: Record<string, unknown> | null };
  /** The project's raw label config, for events that arrive before any /setup. */
  labelConfig: string | null;
}

export interface DeletionEventPayload {
  annotationId: number;
}

const id = z.union([z.number().int(), z.string().regex(/^\d+$/)]).transform(Number);

const annotation = z.object({
  id,
  result: z.unknown().optional(),
  was_cancelled: z.boolean().nullish(),
  completed_by: z.union([z.number(), z.string(), z.object({ id: z.unknown() }).loose()]).nullish(),
  created_username: z.string().nullish(),
  lead_time: z.number().nullish(),
  updated_at: z.string().nullish(),
  task: z.union([id, z.object({ id }).loose()]).nullish(),
});
const task = z.object({ id, data: z.record(z.string(), z.unknown()).nullish() });
const project = z.object({ label_config: z.string().nullish() }).loose().nullish();

const annotationEvent = z.object({ annotation, task: task.nullish(), project });
const bulkAnnotationEvent = z.object({
  annotation: z.array(annotation),
  task: z.array(task).nullish(),
  project,
});
const deletionEvent = z.object({ annotations: z.array(z.object({ id })) });

export type WebhookReply = {
  status: HttpStatus;
  body: Record<string, unknown>;
  headers?: Record<string, string>;
};

/** An event webhook labelloop cannot read: answered 200 all the same (see receive). */
class UnreadableWebhook extends Error {}

/** The most of a rejected webhook's body kept for the connector's status. */
const REJECTED_BODY_MAX_CHARS = 64 * 1024;
/**
 * What anyone holding the backend URL can make labelloop keep, per connector: events waiting to be applied
 * (beyond, a webhook is answered 429 and not stored) and unreadable webhooks kept as failed events (beyond,
 * still answered 200 but not kept). An event that is applied or given up on keeps no body.
 */
const MAX_WAITING_EVENTS = 10_000;
const MAX_FAILED_EVENTS = 100;
/** What a 429 asks the sender to wait: about what the processor needs for a full backlog. */
const BACKLOG_RETRY_AFTER_SECONDS = 60;

/**
 * POST /webhook: Label Studio's event webhooks (sent without credentials, 1 s timeout, no retries) and
 * Start Training (sent with credentials). Annotation events are written to the durable inbox in one
 * statement and applied after the reply (WebhookProcessor); a resent event is stored once. Every event
 * webhook is answered with a 2xx, as LS counts any other answer as a failure and disables the webhook
 * after a few (contract §3.4a): actions labelloop does not use are acknowledged, and one it cannot read
 * (no action, or a malformed payload) gets `{status: 'rejected', error}`, is logged, and is kept as a
 * failed event in the connector's status.
 */
@Injectable()
export class WebhookIntakeService {
  constructor(
    private readonly access: LabelStudioAccess,
    private readonly events: LabelStudioEventsRepository,
    private readonly processor: WebhookProcessor,
    private readonly training: TrainingService,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async receive(
    caller: LabelStudioCaller,
    authorization: string | undefined,
    body: unknown,
  ): Promise<WebhookReply> {
    const action = (body as { action?: unknown } | null)?.action;
    const unstorable = findUnstorableString(body);
    if (unstorable) {
      // PostgreSQL could not store such an event: recorded as failed (with its JSON text) like any unreadable one.
      return this.reject(
        caller,
        typeof action === 'string' && action !== '' && unstorableReason(action) === null ? action : '(none)',
        body,
        describeProblems('invalid body', [unstorable]),
      );
    }
    if (typeof action !== 'string' || action === '') {
      return this.reject(
        caller,
        '(none)',
        body,
        'invalid body: action: a Label Studio webhook names its action',
      );
    }
    if (action === 'START_TRAINING') return this.startTraining(caller, authorization);
    try {
      return await this.receiveEvent(caller, action, body);
    } catch (error) {
      if (!(error instanceof UnreadableWebhook)) throw error;
      return this.reject(caller, action, body, error.message);
    }
  }

  private async receiveEvent(
    caller: LabelStudioCaller,
    action: string,
    body: unknown,
  ): Promise<WebhookReply> {
    switch (action) {
      case 'ANNOTATION_CREATED':
      case 'ANNOTATION_UPDATED': {
        const event = parse(annotationEvent, body);
        return this.store(caller, action, [annotationPayload(event.annotation, event.task, event.project)]);
      }
      case 'ANNOTATIONS_CREATED': {
        const event = parse(bulkAnnotationEvent, body);
        const tasks = new Map((event.task ?? []).map((t) => [t.id, t]));
        const payloads = event.annotation.map((a) =>
          annotationPayload(a, tasks.get(taskIdOf(a) ?? -1) ?? null, event.project),
        );
        return this.store(caller, 'ANNOTATION_CREATED', payloads);
      }
      case 'ANNOTATIONS_DELETED': {
        const event = parse(deletionEvent, body);
        const stored = event.annotations.map((a): NewLabelStudioEvent => ({
          dedupeKey: `deleted:${a.id}`,
          action,
          payload: { annotationId: a.id } satisfies DeletionEventPayload,
        }));
        return this.insert(caller, stored);
      }
      default:
        return { status: HttpStatus.OK, body: { status: 'Unknown event', action } };
    }
  }

  /**
   * Answers 200 (LS would count a 4xx as a failure) and keeps the webhook, trimmed, as a failed event, unless
   * the connector holds MAX_FAILED_EVENTS of them already (`stored: false`).
   */
  private async reject(
    caller: LabelStudioCaller,
    action: string,
    body: unknown,
    error: string,
  ): Promise<WebhookReply> {
    const raw = JSON.stringify(body) ?? 'null';
    this.logger.warn(
      { projectId: caller.project.id, connectorId: caller.connector.id, action, err: error },
      'label studio webhook rejected',
    );
    const kept = await this.events.insertRejected(
      caller.project.id,
      caller.connector.id,
      {
        dedupeKey: `rejected:${createHash('sha256').update(raw).digest('hex')}`,
        action,
        payload: rejectedPayload(body, raw),
        error,
        givenUpAt: MAX_EVENT_ATTEMPTS,
      },
      MAX_FAILED_EVENTS,
    );
    return { status: HttpStatus.OK, body: { status: 'rejected', error, ...(kept ? {} : { stored: false }) } };
  }

  /** Queues a training like POST /train (a waiting one is reused) and answers with its job. */
  private async startTraining(
    caller: LabelStudioCaller,
    authorization: string | undefined,
  ): Promise<WebhookReply> {
    await this.access.checkBasicAuth(caller.connector, authorization);
    const job = await this.training.train(
      { keyId: caller.connector.id, name: 'label-studio', role: 'admin', projectId: caller.project.id },
      caller.project.id,
    );
    // No top-level "job" key: LS would then poll /job_status, which labelloop does not serve.
    return {
      status: HttpStatus.CREATED,
      body: { status: 'ok', result: { jobId: job.jobId, state: job.state } },
    };
  }

  private store(caller: LabelStudioCaller, action: string, payloads: AnnotationEventPayload[]) {
    return this.insert(
      caller,
      payloads.map((payload) => ({ dedupeKey: annotationDedupeKey(payload), action, payload })),
    );
  }

  private async insert(caller: LabelStudioCaller, events: NewLabelStudioEvent[]): Promise<WebhookReply> {
    const { accepted, stored } = await this.events.insert(caller.project.id, caller.connector.id, events, {
      maxAttempts: MAX_EVENT_ATTEMPTS,
      maxWaiting: MAX_WAITING_EVENTS,
    });
    this.processor.kick();
    if (!accepted) {
      this.logger.warn(
        { projectId: caller.project.id, connectorId: caller.connector.id, waiting: MAX_WAITING_EVENTS },
        'label studio webhook refused: too many events waiting',
      );
      return {
        status: HttpStatus.TOO_MANY_REQUESTS,
        headers: { 'retry-after': String(BACKLOG_RETRY_AFTER_SECONDS) },
        body: {
          statusCode: HttpStatus.TOO_MANY_REQUESTS,
          error: 'Too Many Requests',
          message: `${MAX_WAITING_EVENTS} events of this connector are waiting to be applied; this one was not stored`,
        },
      };
    }
    return {
      status: HttpStatus.OK,
      body: { status: 'accepted', stored, duplicates: events.length - stored },
    };
  }
}

/**
 * The rejected body as kept: as JSON when jsonb can hold it, as its JSON text when it holds strings PostgreSQL
 * refuses (the text escapes them), only its size when it is too large.
 */
function rejectedPayload(body: unknown, raw: string): Record<string, unknown> {
  if (raw.length > REJECTED_BODY_MAX_CHARS) return { bodyChars: raw.length, truncated: true };
  return findUnstorableString(body) === null ? { body } : { bodyJson: raw };
}

function parse<S extends z.ZodType>(schema: S, body: unknown): z.infer<S> {
  const parsed = schema.safeParse(body);
  if (parsed.success) return parsed.data;
  throw new UnreadableWebhook(describeProblems('invalid body', zodProblems(parsed.error)));
}

type AnnotationInput = z.infer<typeof annotation>;

function taskIdOf(a: AnnotationInput): number | null {
  if (a.task === null || a.task === undefined) return null;
  return typeof a.task === 'number' ? a.task : a.task.id;
}

function annotationPayload(
  a: AnnotationInput,
  t: z.infer<typeof task> | null | undefined,
  p: z.infer<typeof project>,
): AnnotationEventPayload {
  const taskId = t?.id ?? taskIdOf(a);
  if (taskId === null) {
    throw new UnreadableWebhook('invalid body: annotation.task: the annotation names no task');
  }
  const completedBy =
    a.created_username ??
    (a.completed_by === null || a.completed_by === undefined
      ? null
      : typeof a.completed_by === 'object'
        ? String(a.completed_by.id)
        : String(a.completed_by));
  return {
    annotation: {
      id: a.id,
      result: a.result ?? [],
      wasCancelled: a.was_cancelled ?? false,
      completedBy,
      leadTimeSeconds: a.lead_time ?? null,
      updatedAt: a.updated_at ?? null,
    },
    task: { id: taskId, data: t?.data ?? null },
    labelConfig: p?.label_config ?? null,
  };
}

/** The same annotation state sent twice (LS may resend) has the same key: annotation id + updated_at. */
function annotationDedupeKey(payload: AnnotationEventPayload): string {
  const { annotation: a } = payload;
  const version =
    a.updatedAt ??
    createHash('sha256')
      .update(JSON.stringify([a.result, a.wasCancelled]))
      .digest('hex');
  return `annotation:${a.id}:${version}`;
}
