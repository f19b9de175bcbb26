import { ValidationPipe } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { ApiExceptionFilter } from './common/errors/error-filters';
import { MalformedJsonInterceptor, registerBodyParsers } from './common/http/body-parsers';

/** Request size limit: 100-row requests are a few KB; batch scoring may send MBs. */
export const BODY_LIMIT_BYTES = 32 * 1024 * 1024;

/** Everything main.ts does to the app besides listening, shared with the e2e tests. */
export function configureApp(app: NestFastifyApplication): NestFastifyApplication {
  registerBodyParsers(app.getHttpAdapter().getInstance());
  app.useGlobalInterceptors(new MalformedJsonInterceptor(app.get(Reflector)));
  app.useGlobalFilters(new ApiExceptionFilter());
  app.useGlobalPipes(
    new ValidationPipe({ whitelist: true, forbidNonWhitelisted: true, transform: true }),
  );
  app.enableShutdownHooks();
  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('Modelgate')
      .setDescription('Predictions from models registered in MLflow; retraining through Airflow')
      .build(),
  );
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs/openapi.json' });
  return app;
}
