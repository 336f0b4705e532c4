import { Controller, Delete, Get, HttpCode, Param, Post, Query, Req } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiConsumes, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import type { Readable } from 'node:stream';
import { z } from 'zod';
import { CurrentPrincipal, type Principal } from '../auth/principal';
import { RequireRole } from '../auth/roles.decorator';
import { ApiZodQuery, ZodPipe, parseId } from '../common/zod';
import { ProjectsService } from '../projects/projects.service';
import { ItemsImportService } from './items-import.service';
import { ItemsService } from './items.service';

export const NDJSON = 'application/x-ndjson';

const listItemsQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  cursor: z.uuid().optional(),
  split: z.enum(['pool', 'holdout']).optional(),
  label: z.string().min(1).optional(),
  labeled: z
    .enum(['true', 'false'])
    .transform((value) => value === 'true')
    .optional(),
});

const historyQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  /** The seq of the last entry of the previous page. */
  cursor: z
    .string()
    .regex(/^[0-9]{1,18}$/, 'must be an annotation seq')
    .optional(),
});

@ApiTags('items')
@ApiBearerAuth()
@Controller('v1')
export class ItemsController {
  constructor(
    private readonly projects: ProjectsService,
    private readonly items: ItemsService,
    private readonly importer: ItemsImportService,
  ) {}

  @Post('projects/:id/items')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Import items (admin): a JSON array (up to IMPORT_MAX_JSON_ITEMS) or streamed NDJSON',
    description:
      'Idempotent by externalId. One transaction: an invalid item fails the request, names the item or line, and writes nothing. ' +
      'Text projects take {externalId, text}, tabular {externalId, features}, image {externalId, imageBase64 | pixels}; ' +
      'each may carry metadata and a known label.',
  })
  @ApiConsumes('application/json', NDJSON)
  @ApiBody({ schema: { type: 'array', items: { type: 'object' } } })
  async import(
    @CurrentPrincipal() principal: Principal,
    @Param('id') id: string,
    @Req() request: FastifyRequest,
  ) {
    const project = await this.projects.get(principal, parseId('project', id));
    if (request.headers['content-type']?.startsWith(NDJSON)) {
      return this.importer.importNdjson(project, principal.name, request.body as Readable);
    }
    return this.importer.importArray(project, principal.name, request.body);
  }

  @Get('projects/:id/items')
  @RequireRole('viewer')
  @ApiOperation({ summary: 'List items with filters (labeled, label, split), cursor-paginated' })
  @ApiZodQuery(listItemsQuery)
  async list(
    @CurrentPrincipal() principal: Principal,
    @Param('id') id: string,
    @Query(new ZodPipe(listItemsQuery, 'query')) query: z.infer<typeof listItemsQuery>,
  ) {
    const project = await this.projects.get(principal, parseId('project', id));
    return this.items.list({ projectId: project.id, ...query });
  }

  @Get('items/:id/history')
  @RequireRole('viewer')
  @ApiOperation({
    summary:
      "An item's annotation log, newest first, each entry with the label before it (null label = retraction)",
  })
  @ApiZodQuery(historyQuery)
  history(
    @CurrentPrincipal() principal: Principal,
    @Param('id') id: string,
    @Query(new ZodPipe(historyQuery, 'query')) query: z.infer<typeof historyQuery>,
  ) {
    return this.items.history(principal, parseId('item', id), query.limit, query.cursor);
  }

  @Get('items/:id')
  @RequireRole('viewer')
  @ApiOperation({ summary: 'Get one item with its label history' })
  get(@CurrentPrincipal() principal: Principal, @Param('id') id: string) {
    return this.items.get(principal, parseId('item', id));
  }

  @Delete('items/:id')
  @HttpCode(204)
  @ApiOperation({
    summary: 'Delete an item (admin)',
    description:
      'The item leaves the pool, the labeling queue (its tasks go, leased ones too), scoring, training, stats and ' +
      'every dataset version committed from now on. Versions committed before keep it: their exports do not change.',
  })
  async delete(@CurrentPrincipal() principal: Principal, @Param('id') id: string): Promise<void> {
    await this.items.delete(principal, parseId('item', id));
  }
}
