import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { CarriesSecret } from '../common/carries-secret';
import { ApiZodBody, ZodPipe, parseId } from '../common/zod';
import { CurrentPrincipal, type Principal } from '../auth/principal';
import { ApiKeysService } from './api-keys.service';

const createKeySchema = z.strictObject({
  name: z.string().trim().min(1).max(200),
  role: z.enum(['admin', 'annotator', 'viewer']),
  projectId: z.uuid().nullable().optional(),
});

@ApiTags('api-keys')
@ApiBearerAuth()
@Controller('v1/api-keys')
export class ApiKeysController {
  constructor(private readonly keys: ApiKeysService) {}

  @Post()
  @CarriesSecret()
  @ApiOperation({ summary: 'Create an API key (admin). The key is returned once and never again.' })
  @ApiZodBody(createKeySchema)
  create(
    @CurrentPrincipal() principal: Principal,
    @Body(new ZodPipe(createKeySchema)) body: z.infer<typeof createKeySchema>,
  ) {
    return this.keys.create(principal, {
      name: body.name,
      role: body.role,
      projectId: body.projectId ?? null,
    });
  }

  @Get()
  @ApiOperation({ summary: 'List API keys (admin); hashes are never shown' })
  list(@CurrentPrincipal() principal: Principal, @Query('projectId') projectId?: string) {
    return this.keys.list(principal, projectId ? parseId('project', projectId) : undefined);
  }

  @Delete(':id')
  @HttpCode(200)
  @ApiOperation({ summary: 'Revoke an API key (admin)' })
  revoke(@CurrentPrincipal() principal: Principal, @Param('id') id: string) {
    return this.keys.revoke(principal, parseId('API key', id));
  }
}
