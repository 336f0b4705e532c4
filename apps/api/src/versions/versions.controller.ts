import { Body, Controller, Get, HttpCode, Param, Post, Query, StreamableFile } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { CurrentPrincipal, type Principal } from '../auth/principal';
import { RequireRole } from '../auth/roles.decorator';
import { positiveDatabaseIntQuery } from '../common/database-integers';
import { ApiZodBody, ApiZodQuery, ZodPipe, parseId } from '../common/zod';
import { ProjectsService } from '../projects/projects.service';
import { VersionExportService } from './version-export.service';
import { VersionsService } from './versions.service';

const commitSchema = z.strictObject({ message: z.string().trim().min(1).max(2000) });

const listVersionsQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  /** The number of the last version of the previous page. */
  cursor: positiveDatabaseIntQuery.optional(),
});

const diffQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  /** The item id of the last entry of the previous page. */
  cursor: z.uuid().optional(),
  change: z.enum(['added', 'changed', 'removed']).optional(),
});

const exportQuery = z.strictObject({ format: z.enum(['jsonl', 'csv']).default('jsonl') });

const CONTENT_TYPES = { jsonl: 'application/x-ndjson', csv: 'text/csv; charset=utf-8' } as const;

@ApiTags('versions')
@ApiBearerAuth()
@Controller('v1/projects/:id/versions')
export class VersionsController {
  constructor(
    private readonly projects: ProjectsService,
    private readonly versions: VersionsService,
    private readonly exporter: VersionExportService,
  ) {}

  @Post()
  @HttpCode(201)
  @ApiOperation({
    summary: 'Commit the current labels as a dataset version (admin); the author is the API key',
    description:
      'Watermark = the newest annotation of the project; numbered in one sequence with training versions.',
  })
  @ApiZodBody(commitSchema)
  async commit(
    @CurrentPrincipal() principal: Principal,
    @Param('id') id: string,
    @Body(new ZodPipe(commitSchema)) body: z.infer<typeof commitSchema>,
  ) {
    const project = await this.projects.get(principal, parseId('project', id));
    return this.versions.commit(principal, project, body.message);
  }

  @Get()
  @RequireRole('viewer')
  @ApiOperation({ summary: 'Dataset versions, newest first, cursor-paginated by number' })
  @ApiZodQuery(listVersionsQuery)
  async list(
    @CurrentPrincipal() principal: Principal,
    @Param('id') id: string,
    @Query(new ZodPipe(listVersionsQuery, 'query')) query: z.infer<typeof listVersionsQuery>,
  ) {
    const project = await this.projects.get(principal, parseId('project', id));
    return this.versions.list(project, query.limit, query.cursor);
  }

  @Get(':version')
  @RequireRole('viewer')
  @ApiOperation({ summary: 'One dataset version, by number or uuid' })
  async get(
    @CurrentPrincipal() principal: Principal,
    @Param('id') id: string,
    @Param('version') version: string,
  ) {
    const project = await this.projects.get(principal, parseId('project', id));
    return this.versions.resolve(project, version);
  }

  @Get(':a/diff/:b')
  @RequireRole('viewer')
  @ApiOperation({
    summary:
      'Labels added, changed and removed from version a to version b: counts and a paged list by item id',
  })
  @ApiZodQuery(diffQuery)
  async diff(
    @CurrentPrincipal() principal: Principal,
    @Param('id') id: string,
    @Param('a') a: string,
    @Param('b') b: string,
    @Query(new ZodPipe(diffQuery, 'query')) query: z.infer<typeof diffQuery>,
  ) {
    const project = await this.projects.get(principal, parseId('project', id));
    return this.versions.diff(project, a, b, query);
  }

  @Get(':version/export')
  @RequireRole('viewer')
  @ApiOperation({
    summary: 'Stream the items labeled at a version with their label, annotator and time (JSONL or CSV)',
    description: 'JSONL lines are accepted as they are by the NDJSON item import of another project.',
  })
  @ApiProduces(CONTENT_TYPES.jsonl, CONTENT_TYPES.csv)
  @ApiZodQuery(exportQuery)
  async export(
    @CurrentPrincipal() principal: Principal,
    @Param('id') id: string,
    @Param('version') ref: string,
    @Query(new ZodPipe(exportQuery, 'query')) query: z.infer<typeof exportQuery>,
  ) {
    const project = await this.projects.get(principal, parseId('project', id));
    const version = await this.versions.resolve(project, ref);
    return new StreamableFile(this.exporter.stream(project, version, query.format), {
      type: CONTENT_TYPES[query.format],
      disposition: `attachment; filename="${project.id}-v${version.number}.${query.format}"`,
    });
  }
}
