import { Body, Controller, Headers, Post } from '@nestjs/common';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { ApiProperty, ApiPropertyOptional, OpenAPIObject } from '@nestjs/swagger';
import { Test } from '@nestjs/testing';
import { IsNumber, IsOptional, IsString, ValidateNested } from 'class-validator';
import { buildOpenApiDocument } from './openapi.document';

class InnerDto {
  @ApiPropertyOptional({ type: Number, nullable: true })
  @IsOptional()
  @IsNumber()
  previous?: number | null;
}

class OuterDto {
  @ApiProperty()
  @IsString()
  name: string;

  @ApiPropertyOptional({ type: InnerDto })
  @IsOptional()
  @ValidateNested()
  inner?: InnerDto;
}

@Controller('things')
class ThingsController {
  @Post()
  create(@Body() body: OuterDto, @Headers('content-type') contentType?: string): string {
    return `${body.name} ${contentType}`;
  }
}

describe('buildOpenApiDocument', () => {
  let app: NestFastifyApplication;
  let sut: OpenAPIObject;

  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({ controllers: [ThingsController] }).compile();
    app = moduleRef.createNestApplication<NestFastifyApplication>(new FastifyAdapter());
    sut = buildOpenApiDocument(app);
  });

  afterAll(() => app.close());

  it('declares OpenAPI 3.1 and the bearer, X-API-Key, callback token and MLflow signature schemes', () => {
    expect(sut.openapi).toBe('3.1.0');
    expect(Object.keys(sut.components?.securitySchemes ?? {}).sort()).toEqual([
      'apiKey',
      'bearer',
      'callbackToken',
      'mlflowSignature',
    ]);
  });

  it('closes DTO request bodies and the DTOs they nest: the ValidationPipe forbids unknown keys', () => {
    const schemas = sut.components?.schemas ?? {};
    expect(schemas.OuterDto).toMatchObject({ additionalProperties: false });
    expect(schemas.InnerDto).toMatchObject({ additionalProperties: false });
  });

  it('writes nullable values as JSON Schema 2020-12 type lists', () => {
    expect(sut.components?.schemas?.InnerDto).toMatchObject({
      properties: { previous: { type: ['number', 'null'] } },
    });
    expect(JSON.stringify(sut)).not.toContain('"nullable"');
  });

  it('drops Content-Type as a header parameter: it is the body media type', () => {
    expect(sut.paths['/things'].post?.parameters ?? []).toEqual([]);
  });

  it("adds every feature's schema catalog to the components", () => {
    expect(Object.keys(sut.components?.schemas ?? {})).toEqual(
      expect.arrayContaining([
        'MlflowError',
        'InferRequest',
        'MlflowScoringRequest',
        'ClusterView',
      ]),
    );
  });
});
