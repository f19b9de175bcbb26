import { Inject, Injectable } from '@nestjs/common';
import { modelHeaderPairs } from '../inference/model-headers';
import { UntypedServiceImplementation } from '@grpc/grpc-js';
import { ModelReference, parseModelReference, versionReference } from '../common/model-reference';
import { inSpanSync } from '../common/tracing/spans';
import { SERVICE_NAME, SERVICE_VERSION } from '../common/version';
import { LimitsConfig, limitsConfig } from '../config/limits.config';
import { modelParameters } from '../inference/binding/params';
import { modelMetadata } from '../inference/codecs/open-inference.codec';
import { INFERENCE_ERROR_MAP } from '../inference/inference.error-map';
import { InferenceService } from '../inference/inference.service';
import { tracePrediction } from '../inference/prediction-span';
import { ModelRepository } from '../inference/model-repository.service';
import { ModelReadiness } from '../models/model-readiness.service';
import { decodeModelInferRequest } from './codec/infer-request.decoder';
import { encodeModelInferResponse } from './codec/infer-response.encoder';
import { CallContext, GrpcCallPipeline } from './grpc-call.pipeline';
import {
  ModelInferRequestMessage,
  ModelInferResponseMessage,
  ModelMetadataResponseMessage,
  ModelRefMessage,
  RepositoryIndexRequestMessage,
  RepositoryIndexResponseMessage,
  RepositoryModelRequestMessage,
} from './open-inference.messages';

/** What this service implements beyond the core protocol (REST's list has its own). */
const EXTENSIONS = ['model_repository'];

/**
 * inference.GRPCInferenceService: the translator between the gRPC messages
 * and the one inference service, as OpenInferenceController is for REST.
 * Every answer comes from the owner REST asks: readiness from ModelReadiness,
 * metadata from InferenceService.describe and the codec's modelMetadata,
 * predictions from InferenceService.infer after the REST codec's checks.
 */
@Injectable()
export class OpenInferenceGrpcService {
  constructor(
    private readonly pipeline: GrpcCallPipeline,
    private readonly inference: InferenceService,
    private readonly readiness: ModelReadiness,
    private readonly repository: ModelRepository,
    @Inject(limitsConfig.KEY) private readonly limits: LimitsConfig,
  ) {}

  /** The handlers, by the service's method names, for grpc-js's addService. */
  handlers(): UntypedServiceImplementation {
    const errors = INFERENCE_ERROR_MAP;
    const p = this.pipeline;
    return {
      ServerLive: p.unary('ServerLive', errors, () => Promise.resolve({ live: true })),
      ServerReady: p.unary('ServerReady', errors, () =>
        Promise.resolve({ ready: this.readiness.ready() }),
      ),
      ModelReady: p.unary('ModelReady', errors, (request: ModelRefMessage) =>
        Promise.resolve({ ready: this.readiness.modelReady(referenceOf(request)) }),
      ),
      ServerMetadata: p.unary('ServerMetadata', errors, () =>
        Promise.resolve({ name: SERVICE_NAME, version: SERVICE_VERSION, extensions: EXTENSIONS }),
      ),
      ModelMetadata: p.unary(
        'ModelMetadata',
        errors,
        (request: ModelRefMessage) => this.metadata(request),
        (request) => request.name,
      ),
      ModelInfer: p.unary(
        'ModelInfer',
        errors,
        (request: ModelInferRequestMessage, context) => this.infer(request, context),
        (request) => request.model_name,
      ),
      RepositoryIndex: p.unary(
        'RepositoryIndex',
        errors,
        (request: RepositoryIndexRequestMessage) => Promise.resolve(this.index(request)),
      ),
      RepositoryModelLoad: p.unary(
        'RepositoryModelLoad',
        errors,
        async (request: RepositoryModelRequestMessage) => {
          const name = repositoryModelName(request);
          await this.repository.load(name);
          return { model_name: name, isLoaded: true };
        },
        repositoryModelName,
      ),
      RepositoryModelUnload: p.unary(
        'RepositoryModelUnload',
        errors,
        async (request: RepositoryModelRequestMessage) => {
          const name = repositoryModelName(request);
          await this.repository.unload(name);
          return { model_name: name, isUnloaded: true };
        },
        repositoryModelName,
      ),
    };
  }

  private async infer(
    message: ModelInferRequestMessage,
    context: CallContext,
  ): Promise<ModelInferResponseMessage> {
    const ref = referenceOf({ name: message.model_name, version: message.model_version });
    return tracePrediction('open-inference-grpc', ref, async (answered) => {
      const { request, raw } = inSpanSync('decode', {}, () =>
        decodeModelInferRequest(message, this.limits),
      );
      const result = await this.inference.infer(ref, request.input, {
        outputs: request.requestedOutputs,
        params: modelParameters(request.parameters),
        signal: context.signal,
        caller: context.caller,
      });
      answered(result);
      context.answeredBy(result.modelName, result.modelVersion);
      context.addTrailers(modelHeaderPairs(result));
      return inSpanSync('encode', {}, () =>
        encodeModelInferResponse(result, { id: message.id, raw }),
      );
    });
  }

  private index(request: RepositoryIndexRequestMessage): RepositoryIndexResponseMessage {
    const entries = this.repository.index({ ready: request.ready });
    return {
      models: entries.map((e) => ({
        name: e.name,
        version: e.version ?? '',
        state: e.state,
        reason: e.reason,
      })),
    };
  }

  private async metadata(request: ModelRefMessage): Promise<ModelMetadataResponseMessage> {
    const model = await this.inference.describe(referenceOf(request));
    return modelMetadata(
      model.name,
      [model.version],
      model.runtime.platform,
      [...model.inputs],
      [...model.outputs],
    );
  }
}

/** A name, or a name and version: the references REST's two route forms make. */
function referenceOf({ name, version }: ModelRefMessage): ModelReference {
  return version ? versionReference(name, version) : parseModelReference(name);
}

/** Triton's field 2, else KServe's field 1 (see the .proto). */
function repositoryModelName(request: RepositoryModelRequestMessage): string {
  return request.model_name || request.repository_name;
}
