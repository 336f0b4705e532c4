import { Controller, Get, Param, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { CurrentPrincipal, type Principal } from '../auth/principal';
import { RequireRole } from '../auth/roles.decorator';
import { ApiZodQuery, ZodPipe, parseId } from '../common/zod';
import { StatsService } from './stats.service';

const statsQuery = z.strictObject({
  windowHours: z.coerce
    .number()
    .positive()
    .max(24 * 365)
    .default(24),
});

@ApiTags('stats')
@ApiBearerAuth()
@Controller('v1/projects/:id/stats')
export class StatsController {
  constructor(private readonly stats: StatsService) {}

  @Get()
  @RequireRole('viewer')
  @ApiOperation({
    summary:
      'Items, labeled, per label, open/leased tasks; labels per hour overall and per annotator and median lead time over a window',
  })
  @ApiZodQuery(statsQuery)
  get(
    @CurrentPrincipal() principal: Principal,
    @Param('id') id: string,
    @Query(new ZodPipe(statsQuery, 'query')) query: z.infer<typeof statsQuery>,
  ) {
    return this.stats.projectStats(principal, parseId('project', id), query.windowHours);
  }
}
