import { Body, Controller, Delete, Get, HttpCode, Param, Post, Req } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import { CurrentPrincipal, type Principal } from '../auth/principal';
import { RequireRole } from '../auth/roles.decorator';
import { CarriesSecret } from '../common/carries-secret';
import { ApiZodBody, ZodPipe, parseId } from '../common/zod';
import {
  type CreateConnectorBody,
  createConnectorBody,
  LabelStudioConnectorsService,
} from './label-studio-connectors.service';

/** This service's address as the caller sees it, for the full backend URL. */
function origin(request: FastifyRequest): string {
  return `${request.protocol}://${request.headers.host ?? request.hostname}`;
}

@ApiTags('label-studio')
@ApiBearerAuth()
@Controller('v1/projects/:id/connectors/label-studio')
export class LabelStudioConnectorsController {
  constructor(private readonly connectors: LabelStudioConnectorsService) {}

  @Post()
  @RequireRole('admin')
  @CarriesSecret()
  @ApiOperation({
    summary:
      "Connect Label Studio (admin): returns the ML-backend URL to paste into LS's model settings; its token is shown once",
  })
  @ApiZodBody(createConnectorBody)
  create(
    @CurrentPrincipal() principal: Principal,
    @Param('id') id: string,
    @Body(new ZodPipe(createConnectorBody)) body: CreateConnectorBody,
    @Req() request: FastifyRequest,
  ) {
    return this.connectors.create(principal, parseId('project', id), body, origin(request));
  }

  @Get()
  @RequireRole('viewer')
  @ApiOperation({
    summary: "The project's Label Studio connector: setup seen, webhook events pending/processed/failed",
  })
  get(@CurrentPrincipal() principal: Principal, @Param('id') id: string) {
    return this.connectors.get(principal, parseId('project', id));
  }

  @Post('rotate')
  @HttpCode(200)
  @RequireRole('admin')
  @CarriesSecret()
  @ApiOperation({ summary: 'A new backend URL token (admin); the old URL stops working at once' })
  rotate(@CurrentPrincipal() principal: Principal, @Param('id') id: string, @Req() request: FastifyRequest) {
    return this.connectors.rotate(principal, parseId('project', id), origin(request));
  }

  @Delete()
  @HttpCode(204)
  @RequireRole('admin')
  @ApiOperation({ summary: 'Revoke the connector (admin); its URL answers 404 from then on' })
  async revoke(@CurrentPrincipal() principal: Principal, @Param('id') id: string): Promise<void> {
    await this.connectors.revoke(principal, parseId('project', id));
  }
}
