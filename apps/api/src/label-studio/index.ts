import { LabelStudioAccess } from './label-studio-access.service';
import { LabelStudioBackendController } from './label-studio-backend.controller';
import { LabelStudioBackendService } from './label-studio-backend.service';
import { LabelStudioConnectorsController } from './label-studio-connectors.controller';
import { LabelStudioConnectorsService } from './label-studio-connectors.service';
import { LabelStudioIoController } from './label-studio-io.controller';
import { LabelStudioIoService } from './label-studio-io.service';
import { LabelStudioTasksService } from './label-studio-tasks.service';
import { WebhookIntakeService } from './webhook-intake.service';
import { WebhookProcessor } from './webhook-processor.service';

/** The Label Studio connector's routes, registered in ApiModule. */
export const LABEL_STUDIO_CONTROLLERS = [
  LabelStudioConnectorsController,
  LabelStudioBackendController,
  LabelStudioIoController,
];

export const LABEL_STUDIO_PROVIDERS = [
  LabelStudioAccess,
  LabelStudioConnectorsService,
  LabelStudioBackendService,
  LabelStudioTasksService,
  LabelStudioIoService,
  WebhookIntakeService,
  WebhookProcessor,
];
