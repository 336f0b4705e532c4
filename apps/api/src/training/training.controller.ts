import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { CurrentPrincipal, type Principal } from '../auth/principal';
import { RequireRole } from '../auth/roles.decorator';
import { ApiZodBody, ApiZodQuery, ZodPipe, parseId } from '../common/zod';
import { trainBody, TrainingService } from './training.service';

const jobsQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  queue: z.enum(['training', 'scoring', 'suspects']).default('training'),
});

@ApiTags('training')
@ApiBearerAuth()
@Controller('v1/projects/:id')
export class TrainingController {
  constructor(private readonly training: TrainingService) {}

  @Post('train')
  @HttpCode(202)
  @RequireRole('admin')
  @ApiOperation({
    summary:
      'Queue a training of the project (admin), on a new dataset version or a given one with an optional ' +
      'seed (to reproduce a run); while the same training waits, the request gets that job back',
  })
  @ApiZodBody(trainBody, 'optional: a dataset version (number) to train on instead of a new one, and a seed')
  train(
    @CurrentPrincipal() principal: Principal,
    @Param('id') id: string,
    @Body(new ZodPipe(trainBody)) body: z.infer<typeof trainBody>,
  ) {
    return this.training.train(principal, parseId('project', id), body);
  }

  @Get('jobs')
  @RequireRole('viewer')
  @ApiOperation({
    summary:
      "The project's recent jobs of one queue (training by default, or scoring or suspects), newest first, " +
      'with state and progress',
  })
  @ApiZodQuery(jobsQuery)
  jobs(
    @CurrentPrincipal() principal: Principal,
    @Param('id') id: string,
    @Query(new ZodPipe(jobsQuery, 'query')) query: z.infer<typeof jobsQuery>,
  ) {
    return this.training.jobs(principal, parseId('project', id), query.queue, query.limit);
  }
}
