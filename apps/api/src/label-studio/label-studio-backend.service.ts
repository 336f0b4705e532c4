import { Injectable } from '@nestjs/common';
import {
  LabelStudioConnectorsRepository,
  ModelsRepository,
  ProjectsRepository,
  type ProjectRecord,
} from '@labelloop/db';
import { z } from 'zod';
import { modelInput } from '@labelloop/pipeline';
import { ApiError } from '../common/api-error';
import { describeProblems, zodProblems } from '../common/zod';
import { ModelServingService } from '../models/model-serving.service';
import { type LabelConfig, LabelConfigError, parseLabelConfig } from './label-config';
import type { LabelStudioCaller } from './label-studio-access.service';
import { LabelStudioTasksService } from './label-studio-tasks.service';
import { labelStudioScores } from './prediction-score';
import { choiceRegion, type LabelStudioTask, modelVersionName } from './task-mapping';

// Label Studio sends more keys than these, and different ones per version: unknown keys are ignored.
const setupBody = z.object({
  schema: z.string({ message: 'the label config XML is required' }),
  project: z.string().nullish(),
  hostname: z.string().nullish(),
  access_token: z.string().nullish(),
});

/** Tasks per /predict call (LS sends a page or a selection). */
export const PREDICT_MAX_TASKS = 10_000;

const predictBody = z.object({
  tasks: z
    .array(
      z.object({
        id: z.union([z.number().int(), z.string().regex(/^\d+$/)]),
        data: z.record(z.string(), z.unknown()),
      }),
    )
    .max(PREDICT_MAX_TASKS),
  label_config: z.string().nullish(),
});

function parseBody<S extends z.ZodType>(schema: S, body: unknown): z.infer<S> {
  const parsed = schema.safeParse(body ?? {});
  if (parsed.success) return parsed.data;
  const problems = zodProblems(parsed.error);
  throw ApiError.badRequest(describeProblems('invalid body', problems), problems);
}

/**
 * One entry of /predict's `results`: a prediction, or an error. In a batch an error entry has no `result`, so
 * LS logs and skips it (contract §3.3.3 item 4). A request of one task may be interactive, where LS hands
 * `results[0]` to the editor as is and it must be a prediction object with `result` (item 7): there the
 * error comes with an empty prediction (`result: []`, score 0).
 */
type PredictionEntry =
  | { result: ReturnType<typeof choiceRegion>[]; score: number; model_version: string; error?: string }
  | { model_version: string; error: string };

/** The ML-backend protocol: /setup, /predict and /versions (see the Label Studio wire contract). */
@Injectable()
export class LabelStudioBackendService {
  constructor(
    private readonly connectors: LabelStudioConnectorsRepository,
    private readonly projects: ProjectsRepository,
    private readonly models: ModelsRepository,
    private readonly serving: ModelServingService,
    private readonly tasks: LabelStudioTasksService,
  ) {}

  /**
   * Checks the label config against the project (same input kind; choices = the project's labels, adopted
   * on the connector's first setup while no item is labeled) and remembers it. Answers the version LS uses
   * as its prediction cache key: the promoted model's, or the cold-start version before any model.
   */
  async setup({ connector, project }: LabelStudioCaller, body: unknown): Promise<{ model_version: string }> {
    const input = parseBody(setupBody, body);
    const config = this.config(input.schema);
    this.checkKind(project, config);
    if (!sameSet(config.choices, project.labels)) {
      const adoptable =
        connector.setup === null && (await this.projects.labelsInUse(project.id)).length === 0;
      if (!adoptable) {
        const missing = project.labels.filter((l) => !config.choices.includes(l));
        const extra = config.choices.filter((l) => !project.labels.includes(l));
        throw ApiError.badRequest(
          `label config: the <Choices name="${config.fromName}"> values differ from the project's labels` +
            (missing.length ? `; not in the config: ${missing.join(', ')}` : '') +
            (extra.length ? `; not in the project: ${extra.join(', ')}` : ''),
          { field: 'schema', choices: config.choices, labels: project.labels },
        );
      }
      if (config.choices.length < 2) {
        throw ApiError.badRequest(
          `label config: <Choices name="${config.fromName}"> needs at least 2 choices`,
        );
      }
      await this.projects.update(project.id, { labels: config.choices });
    }
    await this.connectors.saveSetup(connector.id, {
      labelConfig: input.schema,
      fromName: config.fromName,
      toName: config.toName,
      objectType: config.objectType,
      dataKey: config.dataKey,
      lsHostname: input.hostname ?? null,
      lsAccessToken: input.access_token ?? null,
    });
    return { model_version: modelVersionName(await this.serving.promoted(project.id)) };
  }

  /**
   * One prediction per task, in task order: unseen tasks become items first. With a promoted model: its most
   * likely label as a `<Choices>` region, and a score whose ascending order is the project's acquisition order
   * (prediction-score.ts). Before any model: no region, and a score that follows labelloop's cold-start order.
   */
  async predict(
    { connector, project }: LabelStudioCaller,
    body: unknown,
  ): Promise<{ results: PredictionEntry[] }> {
    const input = parseBody(predictBody, body);
    const xml = input.label_config ?? connector.setup?.labelConfig;
    if (!xml)
      throw ApiError.badRequest('no label config: send label_config, or let Label Studio call /setup first');
    const config = this.config(xml);
    this.checkKind(project, config);
    const tasks: LabelStudioTask[] = input.tasks.map((t) => ({ id: Number(t.id), data: t.data }));
    const model = await this.serving.promoted(project.id);
    const version = modelVersionName(model);
    const items = await this.tasks.itemsFor(
      project,
      tasks,
      config.dataKey,
      { hostname: connector.setup?.lsHostname ?? null, accessToken: connector.setup?.lsAccessToken ?? null },
      'label-studio',
      model !== null,
    );
    const results: PredictionEntry[] = items.map((entry) =>
      'error' in entry
        ? errorEntry(entry.error, version, tasks.length === 1)
        : { result: [], score: 1 - entry.item.coldPriority, model_version: version },
    );
    if (!model) return { results };
    const ready = items.flatMap((entry, index) => ('error' in entry ? [] : [{ ...entry, index }]));
    if (ready.length === 0) return { results };
    const { labels, probabilities } = await this.serving.predict(
      model,
      ready.map((entry) => modelInput(project.inputKind, entry.item.payload, entry.bytes)),
    );
    const scores = labelStudioScores(
      project.acquisitionSpec,
      probabilities,
      ready.map((entry) => String(tasks[entry.index].id)),
    );
    ready.forEach((entry, row) => {
      const best = argmax(probabilities[row]);
      const label = labels[best];
      results[entry.index] = {
        result: config.choices.includes(label) ? [choiceRegion(config, label)] : [],
        score: scores[row],
        model_version: version,
      };
    });
    return { results };
  }

  /** The ready model versions, newest first (LS's model-version dropdown). */
  async versions({ project }: LabelStudioCaller): Promise<{ versions: string[] }> {
    const models = await this.models.list(project.id, 100);
    return { versions: models.filter((m) => m.status === 'ready').map((m) => modelVersionName(m)) };
  }

  private config(xml: string): LabelConfig {
    try {
      return parseLabelConfig(xml);
    } catch (error) {
      if (error instanceof LabelConfigError)
        throw ApiError.badRequest(error.message, { field: 'label config' });
      throw error;
    }
  }

  private checkKind(project: ProjectRecord, config: LabelConfig): void {
    if (config.inputKind !== project.inputKind) {
      throw ApiError.badRequest(
        `label config: <${config.objectType} name="${config.toName}"> is labeled, but the project holds ${project.inputKind} items`,
      );
    }
  }
}

function errorEntry(error: string, version: string, singleTask: boolean): PredictionEntry {
  return singleTask
    ? { result: [], score: 0, model_version: version, error }
    : { model_version: version, error };
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x) => b.includes(x));
}

function argmax(row: readonly number[]): number {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i] > row[best]) best = i;
  return best;
}
