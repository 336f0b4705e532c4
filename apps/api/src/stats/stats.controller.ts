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

const timeseriesQuery = z.strictObject({
  bucket: z.enum(['hour', 'day']).default('hour'),
  from: z.coerce.date().optional(),
  to: z.coerce.date().optional(),
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

  @Get('timeseries')
  @RequireRole('viewer')
  @ApiOperation({
    summary:
      'Throughput per hour or day (UTC): labels, active annotators, median lead time, model holdout accuracy',
  })
  @ApiZodQuery(timeseriesQuery)
  timeseries(
    @CurrentPrincipal() principal: Principal,
    @Param('id') id: string,
    @Query(new ZodPipe(timeseriesQuery, 'query')) query: z.infer<typeof timeseriesQuery>,
  ) {
    return this.stats.timeseries(principal, parseId('project', id), query.bucket, query.from, query.to);
  }
}
