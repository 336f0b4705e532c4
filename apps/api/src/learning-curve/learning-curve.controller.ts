import { Controller, Get, Param, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { CurrentPrincipal, type Principal } from '../auth/principal';
import { RequireRole } from '../auth/roles.decorator';
import { ApiZodQuery, ZodPipe, parseId } from '../common/zod';
import { LearningCurveService } from './learning-curve.service';

const learningCurveQuery = z.strictObject({
  /** How many labels past the newest point to forecast at. */
  plus: z.coerce.number().int().min(1).max(10_000_000).default(1000),
});

@ApiTags('models')
@ApiBearerAuth()
@Controller('v1/projects/:id')
export class LearningCurveController {
  constructor(private readonly curve: LearningCurveService) {}

  @Get('learning-curve')
  @RequireRole('viewer')
  @ApiOperation({
    summary:
      'Holdout accuracy by labels over the model versions, a forecast at `plus` more labels with an 80% interval ' +
      '(an inverse power law fitted to these points; null with the reason below 4 label counts), and the ' +
      "stopping signal: successive models' agreement on a fixed stop set of unlabeled items",
  })
  @ApiZodQuery(learningCurveQuery)
  get(
    @CurrentPrincipal() principal: Principal,
    @Param('id') id: string,
    @Query(new ZodPipe(learningCurveQuery, 'query')) query: z.infer<typeof learningCurveQuery>,
  ) {
    return this.curve.get(principal, parseId('project', id), query.plus);
  }
}
