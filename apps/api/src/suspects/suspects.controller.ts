import { Controller, Get, Param, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { SuspectsRepository } from '@labelloop/db';
import { CurrentPrincipal, type Principal } from '../auth/principal';
import { RequireRole } from '../auth/roles.decorator';
import { ApiZodQuery, ZodPipe, parseId } from '../common/zod';
import { ProjectsService } from '../projects/projects.service';

const listSuspectsQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  /** The item id of the last suspect of the previous page. */
  cursor: z.uuid().optional(),
});

@ApiTags('suspects')
@ApiBearerAuth()
@Controller('v1/projects/:id')
export class SuspectsController {
  constructor(
    private readonly projects: ProjectsService,
    private readonly suspects: SuspectsRepository,
  ) {}

  @Get('suspects')
  @RequireRole('viewer')
  @ApiOperation({
    summary:
      'Likely label errors found after the last promotion, most suspicious first, with the suggested label; ' +
      'items relabeled since are left out',
  })
  @ApiZodQuery(listSuspectsQuery)
  async list(
    @CurrentPrincipal() principal: Principal,
    @Param('id') id: string,
    @Query(new ZodPipe(listSuspectsQuery, 'query')) query: z.infer<typeof listSuspectsQuery>,
  ) {
    const project = await this.projects.get(principal, parseId('project', id));
    const rows = await this.suspects.list(project.id, query.limit + 1, query.cursor);
    const page = rows.slice(0, query.limit).map((s) => ({
      itemId: s.itemId,
      externalId: s.externalId,
      payload: s.payload,
      givenLabel: s.givenLabel,
      suggestedLabel: s.suggestedLabel,
      score: s.score,
      modelVersionId: s.modelVersionId,
      createdAt: s.createdAt.toISOString(),
    }));
    return { data: page, nextCursor: rows.length > query.limit ? page[page.length - 1].itemId : null };
  }
}
