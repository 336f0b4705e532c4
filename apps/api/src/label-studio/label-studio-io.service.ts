import { Inject, Injectable } from '@nestjs/common';
import { Readable } from 'node:stream';
import { PNG } from 'pngjs';
import {
  AnnotationsRepository,
  DatasetVersionsRepository,
  LabelStudioAnnotationsRepository,
  LabelStudioConnectorsRepository,
  type LabelStudioExportRow,
  LabelStudioItemsRepository,
  type ProjectRecord,
  type VersionCut,
} from '@labelloop/db';
import { OBJECT_STORE, type ObjectStore } from '@labelloop/storage';
import { z } from 'zod';
import { rawImage } from '@labelloop/pipeline';
import { type Principal } from '../auth/principal';
import { ApiError } from '../common/api-error';
import { ProjectsService } from '../projects/projects.service';
import { LabelConfigError, parseLabelConfig } from './label-config';
import { LabelStudioTasksService } from './label-studio-tasks.service';
import { labelStudioScores } from './prediction-score';
import { type ChoicesTarget, choiceOf, choiceRegion, taskIdOfExternalId } from './task-mapping';

const EXPORT_PAGE = 500;

const exportedAnnotation = z.object({
  id: z.number().int().optional(),
  result: z.unknown().optional(),
  was_cancelled: z.boolean().nullish(),
  completed_by: z.unknown().optional(),
  updated_at: z.string().nullish(),
});
const exportedTask = z.object({
  id: z.number().int(),
  data: z.record(z.string(), z.unknown()),
  annotations: z.array(exportedAnnotation).default([]),
});
export const importBody = z.union([
  z.array(exportedTask),
  z.strictObject({ tasks: z.array(exportedTask), labelConfig: z.string().optional() }),
]);
export type ImportBody = z.infer<typeof importBody>;

/**
 * Label Studio's JSON task format both ways. Export: every item as an LS task (data under the label
 * config's key, the label as an annotation, the stored model prediction as a pre-annotation), for the
 * project now or as of a dataset version. Import: an LS export (tasks with annotations) becomes items keyed
 * by task id, each labeled with its newest non-skipped choice (an item that exists already gets that label
 * appended unless it carries it). All or nothing: every task is checked first, and one that cannot be
 * imported fails the request with nothing written.
 */
@Injectable()
export class LabelStudioIoService {
  constructor(
    private readonly projects: ProjectsService,
    private readonly connectors: LabelStudioConnectorsRepository,
    private readonly items: LabelStudioItemsRepository,
    private readonly datasets: DatasetVersionsRepository,
    private readonly mapping: LabelStudioAnnotationsRepository,
    private readonly tasks: LabelStudioTasksService,
    private readonly annotations: AnnotationsRepository,
    @Inject(OBJECT_STORE) private readonly store: ObjectStore,
  ) {}

  /** A JSON array streamed page by page, so a large project is never held in memory. */
  async export(principal: Principal, projectId: string, datasetVersion?: number): Promise<Readable> {
    const project = await this.projects.get(principal, projectId);
    let cut: VersionCut | null = null;
    if (datasetVersion !== undefined) {
      cut = await this.datasets.findByNumber(project.id, datasetVersion);
      if (!cut) throw ApiError.notFound('dataset version', String(datasetVersion));
    }
    const target = await this.target(project);
    const pages = this.exportPages(project, target, cut);
    return Readable.from(
      (async function* () {
        yield '[';
        let first = true;
        for await (const task of pages) {
          yield (first ? '' : ',') + JSON.stringify(task);
          first = false;
        }
        yield ']';
      })(),
    );
  }

  async import(principal: Principal, projectId: string, body: ImportBody) {
    const project = await this.projects.get(principal, projectId);
    const list = Array.isArray(body) ? body : body.tasks;
    const target =
      !Array.isArray(body) && body.labelConfig ? this.parse(body.labelConfig) : await this.target(project);
    const connector = await this.connectors.findActiveByProject(project.id);
    const labeled = list.map((task) => newestChoice(task.annotations, target.fromName));
    const labelErrors = labeled.flatMap((entry, index) =>
      entry && !project.labels.includes(entry.label)
        ? [
            `task ${list[index].id}: label ${JSON.stringify(entry.label)} is not in the project's label set: ${project.labels.join(', ')}`,
          ]
        : [],
    );
    if (labelErrors.length > 0) throw notImported(labelErrors);
    const outcomes = await this.tasks.itemsFor(
      project,
      list.map((task) => ({ id: task.id, data: task.data })),
      target.dataKey,
      {
        hostname: connector?.setup?.lsHostname ?? null,
        accessToken: connector?.setup?.lsAccessToken ?? null,
      },
      principal.name,
      false,
      { labels: labeled.map((entry) => entry?.label ?? null), allOrNothing: true },
    );
    const errors = outcomes.flatMap((o) => (o && 'error' in o ? [o.error] : []));
    if (errors.length > 0) throw notImported(errors);
    let annotations = 0;
    let relabeled = 0;
    for (const [index, task] of list.entries()) {
      const outcome = outcomes[index];
      if ('error' in outcome) continue;
      const label = labeled[index]?.label;
      // New items got their label in the import; an existing one gets it appended when it differs.
      if (label && outcome.item.label !== label) {
        const written = await this.annotations.appendForItem({
          itemId: outcome.item.id,
          label,
          annotator: principal.name,
          leadTimeMs: null,
          source: 'import',
          scopeProjectId: project.id,
        });
        if (written) relabeled++;
      }
      for (const annotation of task.annotations) {
        if (annotation.id === undefined) continue;
        const label = annotation.was_cancelled ? null : choiceOf(annotation.result, target.fromName);
        await this.mapping.record(project.id, {
          lsAnnotationId: String(annotation.id),
          itemId: outcome.item.id,
          label,
          annotator: `label-studio:${String(annotation.completed_by ?? 'unknown')}`,
          lsUpdatedAt: annotation.updated_at ?? '',
        });
        annotations++;
      }
    }
    return {
      received: list.length,
      /** Tasks whose item now carries their Label Studio label (new, relabeled, or already so). */
      labeled: labeled.filter(Boolean).length,
      /** Of those, existing items whose label changed. */
      relabeled,
      annotationsMapped: annotations,
    };
  }

  private async *exportPages(project: ProjectRecord, target: ChoicesTarget, cut: VersionCut | null) {
    let after: string | null = null;
    for (;;) {
      const rows = await this.items.exportPage(project.id, cut, after, EXPORT_PAGE);
      for (const row of rows) yield await this.exportTask(project, target, row);
      if (rows.length < EXPORT_PAGE) return;
      after = rows[rows.length - 1].id;
    }
  }

  private async exportTask(project: ProjectRecord, target: ChoicesTarget, row: LabelStudioExportRow) {
    const taskId = taskIdOfExternalId(row.externalId);
    const task: Record<string, unknown> = {
      data: { [target.dataKey]: await this.exportValue(project, row) },
      meta: {
        labelloop_item_id: row.id,
        external_id: row.externalId,
        ...(taskId !== null ? { label_studio_task_id: taskId } : {}),
      },
    };
    if (row.label !== null)
      task.annotations = [{ result: [choiceRegion(target, row.label)], was_cancelled: false }];
    if (row.prediction) {
      const [score] = labelStudioScores(
        project.acquisitionSpec,
        [row.prediction.probabilities],
        [row.externalId],
      );
      task.predictions = [
        {
          model_version: `labelloop-v${row.prediction.modelNumber}`,
          score,
          result: [choiceRegion(target, row.prediction.label)],
        },
      ];
    }
    return task;
  }

  /** Text as is; images as data: URIs (stored PNG/JPEG bytes, or raw pixels encoded as PNG). */
  private async exportValue(project: ProjectRecord, row: LabelStudioExportRow): Promise<unknown> {
    const payload = row.payload as {
      text?: string;
      features?: unknown;
      pixels?: number[];
      width?: number;
      height?: number;
    } | null;
    if (project.inputKind === 'text') return payload?.text ?? null;
    if (project.inputKind === 'image') {
      if (row.objectKey) {
        const bytes = await this.store.get(row.objectKey);
        const mime = bytes[0] === 0x89 ? 'image/png' : 'image/jpeg';
        return `data:${mime};base64,${bytes.toString('base64')}`;
      }
      if (payload?.pixels)
        return `data:image/png;base64,${pixelsToPng(payload.pixels, payload.width, payload.height).toString('base64')}`;
      return null;
    }
    return payload?.features ?? null;
  }

  /** The control and data key: the connector's last /setup, else the defaults of the README's config. */
  private async target(project: ProjectRecord): Promise<ChoicesTarget> {
    const connector = await this.connectors.findActiveByProject(project.id);
    if (connector?.setup) return connector.setup;
    const object = project.inputKind === 'image' ? 'image' : 'text';
    return { fromName: 'label', toName: object, dataKey: object };
  }

  private parse(xml: string): ChoicesTarget {
    try {
      return parseLabelConfig(xml);
    } catch (error) {
      if (error instanceof LabelConfigError)
        throw ApiError.badRequest(`labelConfig: ${error.message}`, { field: 'labelConfig' });
      throw error;
    }
  }
}

function notImported(errors: string[]): ApiError {
  return ApiError.badRequest(
    `${errors.length} task(s) could not be imported, so none was: ${errors.slice(0, 10).join('; ')}`,
    { errors },
  );
}

/** The newest annotation that picked a choice (skips and empty results do not count). */
function newestChoice(annotations: z.infer<typeof exportedAnnotation>[], fromName: string | null) {
  const chosen = annotations
    .filter((a) => !a.was_cancelled)
    .map((a) => ({ label: choiceOf(a.result, fromName), at: a.updated_at ?? '', id: a.id ?? 0 }))
    .filter((a): a is { label: string; at: string; id: number } => a.label !== null);
  chosen.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : a.id - b.id));
  return chosen.at(-1) ?? null;
}

function pixelsToPng(pixels: number[], width?: number, height?: number): Buffer {
  const image = rawImage(pixels, width, height);
  let max = 0;
  for (let i = 0; i < image.data.length; i++) max = Math.max(max, image.data[i]);
  const scale = max <= 1 ? 255 : 1;
  const png = new PNG({ width: image.width, height: image.height });
  for (let i = 0; i < image.width * image.height; i++) {
    for (let c = 0; c < 4; c++) {
      const source = image.channels === 1 ? 0 : Math.min(c, image.channels - 1);
      png.data[i * 4 + c] =
        c === 3 && image.channels !== 4 ? 255 : Math.round(image.data[i * image.channels + source] * scale);
    }
  }
  return PNG.sync.write(png);
}
