import { Controller, Get, Param, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { SuspectsRepository } from '@labelloop/db';
import { CurrentPrincipal, type Principal } from '../auth/principal';
import { RequireRole } from '../auth/roles.decorator';
import { positiveDatabaseIntQuery } from '../common/database-integers';
import { ApiZodQuery, ZodPipe, parseId } from '../common/zod';
import { ProjectsService } from '../projects/projects.service';

const listSuspectsQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  /** The rank of the last item of the previous page (its `nextCursor`). */
  cursor: positiveDatabaseIntQuery.optional(),
  /** `true`: only the items confident learning flags; `false`: only the others; absent: the whole ranking. */
  flagged: z
    .enum(['true', 'false'])
    .transform((value) => value === 'true')
    .optional(),
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
      'Every labeled pool item the last suspects refresh examined, ranked by how likely its label is wrong ' +
      '(most suspicious first), with the suggested label and whether confident learning flags it ' +
      '(`flagged=true` lists only those); items relabeled since are left out',
  })
  @ApiZodQuery(listSuspectsQuery)
  async list(
    @CurrentPrincipal() principal: Principal,
    @Param('id') id: string,
    @Query(new ZodPipe(listSuspectsQuery, 'query')) query: z.infer<typeof listSuspectsQuery>,
  ) {
    const project = await this.projects.get(principal, parseId('project', id));
    const rows = await this.suspects.list(project.id, {
      limit: query.limit + 1,
      cursor: query.cursor,
      flagged: query.flagged,
    });
    const page = rows.slice(0, query.limit).map((s) => ({
      itemId: s.itemId,
      externalId: s.externalId,
      payload: s.payload,
      rank: s.rank,
      givenLabel: s.givenLabel,
      suggestedLabel: s.suggestedLabel,
      score: s.score,
      flagged: s.flagged,
      modelVersionId: s.modelVersionId,
      createdAt: s.createdAt.toISOString(),
    }));
    return { data: page, nextCursor: rows.length > query.limit ? page[page.length - 1].rank : null };
  }
}
