import { Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { CurrentPrincipal, type Principal } from '../auth/principal';
import { RequireRole } from '../auth/roles.decorator';
import { ApiZodQuery, ZodPipe, parseId } from '../common/zod';
import { TrainingService } from './training.service';

const limitQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(100).default(20),
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
    summary: 'Queue a training of the project (admin); while one waits, the request gets that job back',
  })
  train(@CurrentPrincipal() principal: Principal, @Param('id') id: string) {
    return this.training.train(principal, parseId('project', id));
  }

  @Get('jobs')
  @RequireRole('viewer')
  @ApiOperation({ summary: "The project's recent training jobs, newest first, with state and progress" })
  @ApiZodQuery(limitQuery)
  jobs(
    @CurrentPrincipal() principal: Principal,
    @Param('id') id: string,
    @Query(new ZodPipe(limitQuery, 'query')) query: z.infer<typeof limitQuery>,
  ) {
    return this.training.jobs(principal, parseId('project', id), query.limit);
  }

  @Get('models')
  @RequireRole('viewer')
  @ApiOperation({
    summary:
      'Model versions, newest first: status, holdout metrics, backend, train time, dataset version, promoted',
  })
  @ApiZodQuery(limitQuery)
  models(
    @CurrentPrincipal() principal: Principal,
    @Param('id') id: string,
    @Query(new ZodPipe(limitQuery, 'query')) query: z.infer<typeof limitQuery>,
  ) {
    return this.training.models(principal, parseId('project', id), query.limit);
  }
}
